package agent

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/store"
)

// connState follows the connection through the socket's callbacks.
type connState struct {
	mu         sync.Mutex
	up         bool
	recovered  bool
	socketID   string
	transport  string
	since      time.Time // of the current state
	lastReason string
	connects   int
	recoveries int
	refusal    string
}

func (c *connState) connected(recovered bool, id, transport string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.up, c.recovered, c.socketID, c.transport, c.since = true, recovered, id, transport, time.Now()
	c.connects++
	c.refusal = ""
	if recovered {
		c.recoveries++
	}
}

func (c *connState) disconnected(reason error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.up, c.since, c.lastReason = false, time.Now(), socketio.Reason(reason)
}

func (c *connState) refused(err *socketio.ConnectError) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refusal = err.Error()
}

// onStatus records why connection attempts fail, for status output.
func (c *connState) onStatus(s socketio.Status) {
	if (s.Kind == socketio.StatusOpenFailed || s.Kind == socketio.StatusReconnecting) && s.Err != nil && !errors.Is(s.Err, socketio.ErrClosed) {
		c.mu.Lock()
		if !c.up {
			c.lastReason = s.Err.Error()
		}
		c.mu.Unlock()
	}
}

// Status is a snapshot of the agent, as `sioagent status` and the
// agent:status command report it.
type Status struct {
	Version   string         `json:"version"`
	DeviceID  string         `json:"deviceId"`
	Started   time.Time      `json:"started"`
	UptimeSec float64        `json:"uptimeSeconds"`
	Conn      ConnStatus     `json:"connection"`
	Outbox    OutboxStatus   `json:"outbox"`
	Clock     ClockStatus    `json:"clock"`
	Sensors   []SensorStatus `json:"sensors"`
	Batches   BatchStatus    `json:"batches"`
	// RemoteConfig is there when the agent has a RemoteConfig.
	RemoteConfig *RemoteConfigStatus `json:"remoteConfig,omitempty"`
}

// ConnStatus describes the server connection.
type ConnStatus struct {
	Server    string `json:"server"`
	Namespace string `json:"namespace"`
	Connected bool   `json:"connected"`
	Recovered bool   `json:"recovered"`
	SocketID  string `json:"socketId,omitempty"`
	Transport string `json:"transport,omitempty"`
	// Compressed is true while the WebSocket compresses (server.compression
	// offered and the server accepted).
	Compressed bool      `json:"compressed,omitempty"`
	Since      time.Time `json:"since"`
	LastReason string    `json:"lastReason,omitempty"`
	Refusal    string    `json:"refusal,omitempty"`
	Connects   int       `json:"connects"`
	Recoveries int       `json:"recoveries"`
}

// OutboxStatus describes the durable outbox and its delivery.
type OutboxStatus struct {
	Path         string            `json:"path"`
	Depth        uint64            `json:"depth"`
	Bytes        uint64            `json:"bytes"`
	OldestAgeSec float64           `json:"oldestAgeSeconds"`
	NextSeq      uint64            `json:"nextSeq"`
	Drops        map[string]uint64 `json:"drops"`
	DeadLetters  uint64            `json:"deadLetters"`
	Quarantined  uint64            `json:"quarantined"`
	FileSize     int64             `json:"fileSize"`
	Recovered    bool              `json:"recoveredFromCorruption"`
	InFlight     int               `json:"inFlight"`
	// Window is the most batches the drainer may have in flight now (the
	// auto window, or the fixed one); RTTSec the round trip of the latest
	// acks, 0 with a fixed window or before the first ack.
	Window     int     `json:"window"`
	RTTSec     float64 `json:"rttSeconds,omitempty"`
	Sent       uint64  `json:"sent"`
	Acked      uint64  `json:"acked"`
	Duplicates uint64  `json:"duplicates"`
	Rejected   uint64  `json:"rejected"`
	Timeouts   uint64  `json:"timeouts"`
	LastError  string  `json:"lastError,omitempty"`
	// HeldRecord is the record holding delivery back because it is larger
	// than the server accepts in this session (seq, size, limit); nil when
	// none is.
	HeldRecord *outbox.HeldRecord `json:"heldRecord,omitempty"`
	// DeadLettersDiscarded counts dead letters deleted by the dead-letter
	// bounds (each one logged).
	DeadLettersDiscarded uint64 `json:"deadLettersDiscarded"`
	// DeadLetterSample lists the oldest dead letters (at most
	// deadLetterSample) with the reason each was set aside.
	DeadLetterSample []DeadLetter `json:"deadLetterSample,omitempty"`
}

// deadLetterSample is how many dead letters Status lists.
const deadLetterSample = 5

// DeadLetter is a batch the server refused for good (or that could not be
// sent), kept in the outbox's dead-letter bucket for inspection.
type DeadLetter struct {
	Seq    uint64    `json:"seq"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// BatchStatus counts what the batcher stored, what it holds in memory
// because the outbox refused it for now, and what was lost before the
// outbox.
type BatchStatus struct {
	Batches  uint64 `json:"batches"`
	Readings uint64 `json:"readings"`
	// Held is the readings waiting in memory for another attempt to store
	// them (the outbox failed: stalled or full disk).
	Held uint64 `json:"held"`
	// Lost is the readings lost before the outbox, Losses the same by
	// reason: every one of LossReasons, zero when none.
	Lost      uint64            `json:"lost"`
	Losses    map[string]uint64 `json:"losses"`
	LastError string            `json:"lastError,omitempty"`
}

// ClockStatus says whether the wall clock is synchronised.
type ClockStatus struct {
	Synced bool      `json:"synced"`
	Now    time.Time `json:"now"`
	// Trust is the [clock] trust setting: "auto" or "system".
	Trust string `json:"trust"`
	// Source says why the clock counts as synchronised (clock.Source*),
	// empty when it does not or when the clock cannot say.
	Source string `json:"source,omitempty"`
}

// syncSource is what a clock that knows where its synchronisation comes
// from offers (clock.Clock.Sync).
type syncSource interface {
	Sync() (synced bool, source string)
}

// SensorStatus is one sensor's state.
type SensorStatus struct {
	Name                string    `json:"name"`
	Driver              string    `json:"driver"`
	Where               string    `json:"where,omitempty"`
	IntervalSec         float64   `json:"intervalSeconds"`
	Reads               uint64    `json:"reads"`
	Failures            uint64    `json:"failures"`
	ConsecutiveFailures int       `json:"consecutiveFailures"`
	Stuck               bool      `json:"stuck,omitempty"`
	LastReading         time.Time `json:"lastReading,omitzero"`
	LastError           string    `json:"lastError,omitempty"`
}

// Status returns a snapshot of the agent.
func (a *Agent) Status() Status {
	now := a.clock.Now()
	s := Status{Version: a.version(), DeviceID: a.cfg.Device.ID, Started: a.started, UptimeSec: time.Since(a.started).Seconds(), Clock: ClockStatus{Synced: now.Synced, Now: now.Wall, Trust: a.cfg.Clock.Trust}}
	if src, ok := a.clock.(syncSource); ok && now.Synced {
		_, s.Clock.Source = src.Sync()
	}
	a.conn.mu.Lock()
	c := &a.conn
	s.Conn = ConnStatus{Server: redactURL(a.cfg.Server.URL), Namespace: a.cfg.Server.Namespace, Connected: c.up, Recovered: c.recovered, SocketID: c.socketID, Transport: c.transport, Since: c.since, LastReason: c.lastReason, Refusal: c.refusal, Connects: c.connects, Recoveries: c.recoveries}
	a.conn.mu.Unlock()
	if s.Conn.Connected {
		s.Conn.Transport, s.Conn.Compressed = a.client.Transport(), a.client.Compressed()
	} else {
		s.Conn.SocketID, s.Conn.Transport = "", ""
	}
	st := a.st.Stats()
	ds := a.drainer.Stats()
	s.Outbox = OutboxStatus{Path: a.cfg.Outbox.Path, Depth: st.Count, Bytes: st.Bytes, OldestAgeSec: st.OldestAge.Seconds(), NextSeq: st.NextSeq,
		Drops: dropsMap(st), DeadLetters: st.DeadLetters, Quarantined: st.Quarantined, FileSize: st.FileSize, Recovered: st.Recovered,
		InFlight: ds.InFlight, Window: ds.Window, RTTSec: ds.RTT.Seconds(),
		Sent: ds.Sent, Acked: ds.Acked, Duplicates: ds.Duplicates, Rejected: ds.Rejected, Timeouts: ds.Timeouts}
	if ds.LastError != nil {
		s.Outbox.LastError = ds.LastError.Error()
	}
	s.Outbox.HeldRecord, s.Outbox.DeadLettersDiscarded = ds.Held, st.DeadLettersDiscarded
	if st.DeadLetters > 0 {
		dead, err := a.st.DeadLetters(deadLetterSample)
		if err != nil {
			s.Outbox.LastError = "reading dead letters: " + err.Error()
		}
		for _, d := range dead {
			s.Outbox.DeadLetterSample = append(s.Outbox.DeadLetterSample, DeadLetter{Seq: d.Seq, At: d.DeadLettered, Reason: d.Reason})
		}
	}
	s.Batches = BatchStatus{Batches: a.batch.enqueued.Load(), Readings: a.batch.readings.Load(), Held: uint64(max(a.batch.heldN.Load(), 0)),
		Lost: a.batch.failed.Load(), Losses: a.batch.losses.snapshot()}
	if e := a.batch.lastError.Load(); e != nil {
		s.Batches.LastError = *e
	}
	if rc := a.opts.RemoteConfig; rc != nil {
		r := rc.Status()
		s.RemoteConfig = &r
	}
	if run := a.sampler(); run != nil {
		for _, ss := range run.sampler.Status() {
			s.Sensors = append(s.Sensors, sensorStatus(ss))
		}
	}
	return s
}

func sensorStatus(ss sensors.SensorStatus) SensorStatus {
	return SensorStatus{Name: ss.Name, Driver: ss.Driver, Where: ss.Where, IntervalSec: ss.Interval.Seconds(), Reads: ss.Reads, Failures: ss.Failures,
		ConsecutiveFailures: ss.ConsecutiveFailures, Stuck: ss.Stuck, LastReading: ss.LastReading, LastError: ss.LastError}
}

func dropsMap(st store.Stats) map[string]uint64 {
	return map[string]uint64{"maxBytes": st.Drops.MaxBytes, "maxRecords": st.Drops.MaxRecords, "maxAge": st.Drops.MaxAge, "maxFileSize": st.Drops.MaxFileSize}
}

// statusLine is the one-line STATUS= text for systemd.
func (s Status) statusLine() string {
	conn := "offline"
	if s.Conn.Connected {
		conn = "connected"
		if s.Conn.Recovered {
			conn += " (recovered)"
		}
	} else if s.Conn.Refusal != "" {
		conn = "refused: " + s.Conn.Refusal
	}
	failing := 0
	for _, ss := range s.Sensors {
		if ss.ConsecutiveFailures > 0 {
			failing++
		}
	}
	line := fmt.Sprintf("%s to %s; outbox %d queued", conn, s.Conn.Server, s.Outbox.Depth)
	if s.Outbox.Depth > 0 {
		line += fmt.Sprintf(" (oldest %s)", (time.Duration(s.Outbox.OldestAgeSec) * time.Second).String())
	}
	if s.Outbox.DeadLetters > 0 {
		line += fmt.Sprintf(", %d dead letters", s.Outbox.DeadLetters)
	}
	if s.Batches.Held > 0 {
		line += fmt.Sprintf(", %d readings held in memory", s.Batches.Held)
	}
	if s.Batches.Lost > 0 {
		line += fmt.Sprintf(", %d readings lost", s.Batches.Lost)
	}
	line += fmt.Sprintf("; %d sensors", len(s.Sensors))
	if failing > 0 {
		line += fmt.Sprintf(", %d failing", failing)
	}
	if !s.Clock.Synced {
		line += "; clock not synchronised"
	}
	return line
}
