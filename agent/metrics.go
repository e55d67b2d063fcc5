package agent

import (
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sioagent/sioagent/metrics"
	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/sensors"
)

// counts are the agent's event counters that no part keeps itself, by
// label values. It holds at most metrics.MaxSeries keys; more go to the
// overflow key, so a stream of new sensor names (reload after reload)
// cannot grow it without bound.
type counts struct {
	mu sync.Mutex
	m  map[[2]string]uint64
}

func (c *counts) add(n uint64, a, b string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[[2]string]uint64{}
	}
	k := [2]string{a, b}
	if _, ok := c.m[k]; !ok && len(c.m) >= metrics.MaxSeries {
		k = [2]string{metrics.OverflowValue, metrics.OverflowValue}
	}
	c.m[k] += n
}

// emit reports every key in order; one label when two is false.
func (c *counts) emit(emit metrics.Emit, two bool) {
	c.mu.Lock()
	keys := make([][2]string, 0, len(c.m))
	vals := make(map[[2]string]uint64, len(c.m))
	for k, v := range c.m {
		keys = append(keys, k)
		vals[k] = v
	}
	c.mu.Unlock()
	// sort.Slice, not slices.SortFunc: the binary has it already.
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		if two {
			emit(float64(vals[k]), k[0], k[1])
		} else {
			emit(float64(vals[k]), k[0])
		}
	}
}

// agentMetrics is what the agent counts for its metrics beyond the
// counters of its parts (store, drainer, sampler), which are read when the
// metrics are written.
type agentMetrics struct {
	reg *metrics.Registry

	commit  *metrics.HistogramVec
	ack     *metrics.HistogramVec
	read    *metrics.HistogramVec
	command *metrics.HistogramVec

	disconnects counts // reason
	reconnects  atomic.Uint64
	readings    counts // sensor
	reads       counts // sensor
	readErrors  counts // sensor, kind
	commands    counts // command, result
}

// newAgentMetrics registers the histograms, whose observers the parts are
// given when they are built; registerMetrics adds the rest once they
// exist.
func newAgentMetrics() *agentMetrics {
	r := metrics.NewRegistry()
	return &agentMetrics{
		reg:     r,
		commit:  r.Histogram("sioagent_outbox_commit_duration_seconds", "Time of one outbox commit (a write transaction and its fsyncs).", metrics.DurationBuckets),
		ack:     r.Histogram("sioagent_outbox_ack_duration_seconds", "Round trip of a telemetry batch: from its send to the server's positive ack.", metrics.DurationBuckets),
		read:    r.Histogram("sioagent_sensor_read_duration_seconds", "Time of one sensor read by its driver.", metrics.DurationBuckets, "sensor"),
		command: r.Histogram("sioagent_command_duration_seconds", "Time from a command's arrival to its answer.", metrics.DurationBuckets, "command"),
	}
}

// onRead is the sampler's OnRead.
func (m *agentMetrics) onRead(sensor string, took time.Duration, err error) {
	m.reads.add(1, sensor, "")
	if took > 0 {
		m.read.ObserveDuration(took, sensor)
	}
	if err != nil {
		m.readErrors.add(1, sensor, readErrorKind(err))
	}
}

// readErrorKind is the kind label of a read error: the sensors.Kind name
// with underscores ("bad_data").
func readErrorKind(err error) string {
	k := sensors.KindOther
	if se, ok := err.(*sensors.Error); ok {
		k = se.Kind
	}
	switch k {
	case sensors.KindMissing:
		return "missing"
	case sensors.KindBusy:
		return "busy"
	case sensors.KindBadData:
		return "bad_data"
	case sensors.KindTimeout:
		return "timeout"
	}
	return "other"
}

// onReadings counts the readings of a periodic read or a watcher's event.
func (m *agentMetrics) onReadings(rs []sensors.Reading) {
	if len(rs) > 0 {
		m.readings.add(uint64(len(rs)), rs[0].Sensor, "")
	}
}

// onAnswer counts one command's answer: its name (registered ones only,
// so a server cannot invent series), "ok" or the error code, and how long
// it took.
func (m *agentMetrics) onAnswer(name string, known bool, a answer, took time.Duration) {
	if !known {
		name = "unknown"
	}
	result := "ok"
	if a.ack.Error != nil {
		result = a.ack.Error.Code
	}
	m.commands.add(1, name, result)
	m.command.ObserveDuration(took, name)
}

// onStatus counts reconnection attempts.
func (m *agentMetrics) onStatus(s socketio.Status) {
	if s.Kind == socketio.StatusReconnecting || s.Kind == socketio.StatusRejoining {
		m.reconnects.Add(1)
	}
}

// registerMetrics registers every family read from the agent's parts. Call
// it once New has built them. Every family is listed in docs/METRICS.md
// (a test checks).
func (a *Agent) registerMetrics() {
	m, r := a.metrics, a.metrics.reg
	one := func(v float64) func(metrics.Emit) { return func(emit metrics.Emit) { emit(v) } }
	gauge := func(name, help string, v func() float64) {
		r.GaugeFunc(name, help, nil, func(emit metrics.Emit) { emit(v()) })
	}
	counter := func(name, help string, v func() uint64) {
		r.CounterFunc(name, help, nil, func(emit metrics.Emit) { emit(float64(v())) })
	}

	version, commit := a.version(), buildCommit()
	r.GaugeFunc("sioagent_build_info", "The agent's version, commit and architecture (always 1).", []string{"version", "commit", "goarch", "goversion"},
		func(emit metrics.Emit) { emit(1, version, commit, runtime.GOARCH, runtime.Version()) })
	r.GaugeFunc("sioagent_start_time_seconds", "When the agent started, in seconds since the Unix epoch.", nil, one(float64(a.started.UnixNano())/1e9))

	gauge("sioagent_connected", "1 while the namespace is connected, 0 otherwise.", func() float64 {
		a.conn.mu.Lock()
		defer a.conn.mu.Unlock()
		return metrics.Bool(a.conn.up)
	})
	r.GaugeFunc("sioagent_connection_transport", "The transport of the connected session (1), none while disconnected.", []string{"transport"}, func(emit metrics.Emit) {
		a.conn.mu.Lock()
		up := a.conn.up
		a.conn.mu.Unlock()
		if t := a.client.Transport(); up && t != "" {
			emit(1, t)
		}
	})
	counter("sioagent_connects_total", "Connections of the namespace, recovered ones included.", func() uint64 {
		a.conn.mu.Lock()
		defer a.conn.mu.Unlock()
		return uint64(a.conn.connects)
	})
	counter("sioagent_recovered_sessions_total", "Connections that recovered the previous session (Socket.IO connection state recovery).", func() uint64 {
		a.conn.mu.Lock()
		defer a.conn.mu.Unlock()
		return uint64(a.conn.recoveries)
	})
	gauge("sioagent_connection_compressed", "1 while the connection compresses its WebSocket messages (permessage-deflate), 0 otherwise.", func() float64 {
		return metrics.Bool(a.client.Compressed())
	})
	r.CounterFunc("sioagent_disconnects_total", "Disconnections, by the Socket.IO reason.", []string{"reason"}, func(emit metrics.Emit) { m.disconnects.emit(emit, false) })
	r.CounterFunc("sioagent_reconnect_attempts_total", "Reconnection attempts scheduled (after a lost link, or after the server disconnected or refused the agent).", nil, func(emit metrics.Emit) {
		emit(float64(m.reconnects.Load()))
	})

	a.registerOutboxMetrics(r)
	if rc := a.opts.RemoteConfig; rc != nil {
		a.registerRemoteConfigMetrics(r, rc)
	}

	r.CounterFunc("sioagent_sensor_reads_total", "Sensor reads attempted (periodic and on demand), by sensor.", []string{"sensor"}, func(emit metrics.Emit) { m.reads.emit(emit, false) })
	r.CounterFunc("sioagent_sensor_read_errors_total", "Sensor reads that failed, by sensor and kind (missing, busy, bad_data, timeout, other).", []string{"sensor", "kind"}, func(emit metrics.Emit) { m.readErrors.emit(emit, true) })
	r.CounterFunc("sioagent_sensor_readings_total", "Readings produced for telemetry, by sensor.", []string{"sensor"}, func(emit metrics.Emit) { m.readings.emit(emit, false) })
	r.GaugeFunc("sioagent_sensor_consecutive_failures", "Periodic reads of the sensor that failed since its last success.", []string{"sensor"}, func(emit metrics.Emit) {
		if run := a.sampler(); run != nil {
			for _, s := range run.sampler.Status() {
				emit(float64(s.ConsecutiveFailures), s.Name)
			}
		}
	})
	r.CounterFunc("sioagent_commands_total", "Commands answered, by command and result (ok, or the error code).", []string{"command", "result"}, func(emit metrics.Emit) { m.commands.emit(emit, true) })
	gauge("sioagent_clock_synchronized", "1 when readings carry trusted wall-clock times ([clock] trust, or the system's synchronisation).", func() float64 {
		return metrics.Bool(a.clock.Now().Synced)
	})
	metrics.RegisterProcess(r)
}

// buildCommit is the VCS revision the binary was built from, "unknown"
// when the build did not record one.
func buildCommit() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				return s.Value
			}
		}
	}
	return "unknown"
}
