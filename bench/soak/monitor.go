package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/sioagent/sioagent/protocol/socketio"
)

const (
	// streamCount is how many numbers one stream asks for: the server's
	// upper bound. At the default 20 ms that lasts 5.5 hours; a stream that
	// ends ("stream-done") is replaced by a new one.
	streamCount = 1_000_000
	// emitTimeout bounds the emit of a stream request.
	emitTimeout = 2 * time.Second
	// causeWindow: a disconnection that comes at most this long after a
	// fault injected while the client was connected is attributed to that
	// fault. Half-open links are detected within pingInterval +
	// pingTimeout (2 s), well inside it.
	causeWindow = 5 * time.Second
	// minConfirmTimeout and minStallTimeout are the least time without a
	// number, while connected, before a stream request is deemed lost or a
	// running stream stalled; both are at least 100 stream intervals.
	minConfirmTimeout = 3 * time.Second
	minStallTimeout   = 5 * time.Second
	// maxPrintedNotes is how many notes (anomalies and surprises) are
	// printed on stderr with the recent trace as evidence; later ones are
	// only counted and listed.
	maxPrintedNotes = 10
	// maxListedNotes is how many notes the final report lists.
	maxListedNotes = 30
	// noteTraceLines is how many trace lines a printed note carries.
	noteTraceLines = 40
)

// unprovoked is the cause of a disconnection no injected fault explains.
const unprovoked = "unprovoked"

// streamState says whether a server-side stream feeds the socket.
type streamState int

const (
	streamWanted    streamState = iota // none runs: one must be requested
	streamRequested                    // "stream" was emitted; no number came yet
	streamRunning                      // numbers arrive
)

// pendingFault is the last fault injected while the client was connected,
// not yet matched with a disconnection.
type pendingFault struct {
	kind faultKind
	at   time.Time
}

// causeStats are the figures of the outages of one cause.
type causeStats struct {
	Disconnections int
	Reconnections  int
	Recoverable    int // reconnections where recovery was possible
	Recovered      int
	MaxReconnect   time.Duration
}

// stats is a snapshot of the monitor's figures.
type stats struct {
	Faults          [numFaultKinds]int
	FaultsWhileDown int // injected while the client was not connected

	Disconnections   int
	Reconnections    int
	Recoverable      int
	Recovered        int
	NotRecoveredOK   int // recoverable, but the server gave a new session
	ByCause          map[string]causeStats
	ReconnectTimes   []time.Duration // sorted
	FreezeDetectMax  time.Duration
	FreezeDetected   int
	FreezeUndetected int
	Attempts         int // StatusReconnecting
	MaxAttempt       int
	OpenFailures     int
	ConnectErrors    int
	ReconnectFailed  int
	Upgrades         int
	UpgradeFailures  int
	ConnectedAtEnd   bool

	Received       int64
	Lost           int64
	Duplicates     int64
	OutOfOrder     int64
	Missed         int64
	Streams        int
	StreamRequests int
	LostRequests   int
	Strays         int
	Stalls         int

	Notes      []string
	NotesTotal int
}

// monitor follows the client: it receives its statuses and the stream's
// events (on the client's dispatcher goroutine, in order), the injected
// faults (from the injector) and keeps a server-side stream running. All
// its figures are guarded by mu.
type monitor struct {
	trace          *tracer
	notesOut       io.Writer
	streamEvery    time.Duration
	confirmTimeout time.Duration
	stallTimeout   time.Duration
	// requests wakes the driver when a stream should be requested.
	requests chan struct{}

	mu             sync.Mutex
	closing        bool
	everConnected  bool
	connected      bool
	sid            string // socket id from the last "welcome", "" until it came
	connectedAt    time.Time
	lastRecovered  bool // whether the last connection was recovered
	disconnectedAt time.Time
	cause          string // of the current outage
	pending        *pendingFault
	restartGen     int // restarts begun
	genAtConnect   int // restartGen at the last connection
	lastRestartAt  time.Time

	seq         sequence
	stream      streamState
	requestedAt time.Time
	lastEventAt time.Time
	stalled     bool

	st stats
}

func newMonitor(tr *tracer, notesOut io.Writer, streamEvery time.Duration) *monitor {
	return &monitor{
		trace:          tr,
		notesOut:       notesOut,
		streamEvery:    streamEvery,
		confirmTimeout: max(minConfirmTimeout, 100*streamEvery),
		stallTimeout:   max(minStallTimeout, 100*streamEvery),
		requests:       make(chan struct{}, 1),
		st:             stats{ByCause: make(map[string]causeStats)},
	}
}

// --- client callbacks (dispatcher goroutine) ----------------------------

// onStatus is the client's Options.OnStatus.
func (m *monitor) onStatus(st socketio.Status) {
	now := time.Now()
	m.trace.printf("client: %s", st)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return
	}
	switch st.Kind {
	case socketio.StatusConnected:
		m.onConnectedLocked(now, st.Recovered)
	case socketio.StatusDisconnected:
		m.onDisconnectedLocked(now, st.Err)
	case socketio.StatusReconnecting:
		m.st.Attempts++
		m.st.MaxAttempt = max(m.st.MaxAttempt, st.Attempt)
	case socketio.StatusOpenFailed:
		m.st.OpenFailures++
	case socketio.StatusConnectError:
		m.st.ConnectErrors++
		m.noteLocked("the server refused the namespace: %v", st.Err)
	case socketio.StatusReconnectFailed:
		m.st.ReconnectFailed++
		m.noteLocked("the client gave up reconnecting: %v", st.Err)
	}
}

func (m *monitor) onConnectedLocked(now time.Time, recovered bool) {
	m.connected, m.connectedAt, m.stalled, m.lastRecovered = true, now, false, recovered
	if !m.everConnected {
		m.everConnected = true
		m.genAtConnect = m.restartGen
		m.seq.begin(0)
		m.stream = streamWanted
		return // the stream is requested once "welcome" gives the socket id
	}
	m.st.Reconnections++
	outage := now.Sub(m.disconnectedAt)
	m.st.ReconnectTimes = append(m.st.ReconnectTimes, outage)
	cs := m.st.ByCause[m.cause]
	cs.Reconnections++
	cs.MaxReconnect = max(cs.MaxReconnect, outage)
	// Recovery is possible unless the server restarted since the last
	// connection: a recovered connection proves it was possible.
	recoverable := recovered || m.restartGen == m.genAtConnect
	m.genAtConnect = m.restartGen
	if recoverable {
		m.st.Recoverable++
		cs.Recoverable++
	}
	if recovered {
		m.st.Recovered++
		cs.Recovered++
	} else {
		if recoverable {
			m.st.NotRecoveredOK++
			m.noteLocked("reconnected WITHOUT recovery although no restart happened (cause %s, outage %v)", m.cause, outage.Round(time.Millisecond))
		}
		m.endStreamLocked(now)
	}
	m.st.ByCause[m.cause] = cs
	if m.stream == streamRequested {
		m.requestedAt = now // give the request a fresh chance to show
	}
}

func (m *monitor) onDisconnectedLocked(now time.Time, reason error) {
	m.connected, m.sid = false, ""
	m.disconnectedAt = now
	m.st.Disconnections++
	m.cause = unprovoked
	if p := m.pending; p != nil && now.Sub(p.at) <= causeWindow {
		m.cause = p.kind.String()
		if p.kind == faultFreeze {
			m.st.FreezeDetected++
			m.st.FreezeDetectMax = max(m.st.FreezeDetectMax, now.Sub(p.at))
		}
	}
	m.pending = nil
	cs := m.st.ByCause[m.cause]
	cs.Disconnections++
	m.st.ByCause[m.cause] = cs
	if m.cause == unprovoked {
		m.noteLocked("disconnected with no fault injected just before (%s)", socketio.Reason(reason))
	}
}

// onWelcome handles the server's "welcome"({id, recovered}), sent after
// every connection: from then on the monitor's view of the socket (which
// trails the client by the dispatcher queue) matches its id.
func (m *monitor) onWelcome(e *socketio.Event) {
	var w struct {
		ID string `json:"id"`
	}
	if err := e.Args.Decode(0, &w); err != nil {
		m.mu.Lock()
		m.noteLocked("bad welcome event: %v", err)
		m.mu.Unlock()
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.connected {
		m.sid = w.ID
	}
	if m.stream == streamWanted {
		m.wakeDriver()
	}
}

// onSeq handles one "seq"(i) of the stream.
func (m *monitor) onSeq(e *socketio.Event) {
	now := time.Now()
	i, err := socketio.Arg[int](e.Args, 0)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return
	}
	switch {
	case err != nil || e.Args.Len() != 1:
		m.noteLocked("bad seq event (%d arguments): %v", e.Args.Len(), err)
		return
	case m.stream == streamWanted:
		m.st.Strays++
		m.noteLocked("stray seq %d: no stream was requested on this connection", i)
		return
	}
	m.stream = streamRunning
	m.lastEventAt, m.stalled = now, false
	if v := m.seq.observe(i); !v.ok() {
		m.noteLocked("stream %d: %v (connected=%v, %v after the last connection, which recovered=%v)",
			m.seq.streams, v, m.connected, now.Sub(m.connectedAt).Round(time.Millisecond), m.lastRecovered)
	}
}

// onStreamDone handles "stream-done"(n): the stream ended normally.
func (m *monitor) onStreamDone(e *socketio.Event) {
	n, err := socketio.Arg[int](e.Args, 0)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return
	}
	if err != nil {
		m.noteLocked("bad stream-done event: %v", err)
		return
	}
	if tail := m.seq.end(n); tail > 0 {
		m.noteLocked("stream %d ended at %d: its last %d numbers never came", m.seq.streams, n, tail)
	}
	m.trace.printf("stream %d done (%d numbers)", m.seq.streams, n)
	m.seq.begin(0)
	m.stream = streamWanted
	m.wakeDriver()
}

// onUpgrade is the Engine.IO Options.OnUpgrade (a session goroutine).
func (m *monitor) onUpgrade(transport string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.st.UpgradeFailures++
		m.trace.printf("client: upgrade to %s failed: %v", transport, err)
		return
	}
	m.st.Upgrades++
	m.trace.printf("client: upgraded to %s", transport)
}

// --- stream requests (driver goroutine) ----------------------------------

// endStreamLocked abandons the current stream after a reconnection that
// was not recovered, estimating what it sent meanwhile: one number every
// streamEvery from the last one received until now, or until the server
// restarted if it did.
func (m *monitor) endStreamLocked(now time.Time) {
	var missed int64
	if m.stream == streamRunning {
		end := now
		if m.lastRestartAt.After(m.lastEventAt) {
			end = m.lastRestartAt
		}
		missed = int64(end.Sub(m.lastEventAt) / m.streamEvery)
	}
	m.trace.printf("stream %d abandoned (≈%d numbers missed while not recovered)", m.seq.streams, missed)
	m.seq.begin(missed)
	m.stream = streamWanted
}

// wakeDriver asks the driver to call maintainStream soon.
func (m *monitor) wakeDriver() {
	select {
	case m.requests <- struct{}{}:
	default:
	}
}

// maintainStream keeps one stream running: it requests a stream when none
// runs, requests again when a request showed no number within
// confirmTimeout (it was lost with its connection), and reports a stream
// that stalls while connected. currentID is the client's socket id: a
// request is only sent when the monitor's view (which trails the client)
// is the same socket, so a stream is never requested twice on one socket.
func (m *monitor) maintainStream(ctx context.Context, currentID func() string, emit func(context.Context) error) {
	now := time.Now()
	m.mu.Lock()
	if m.closing || !m.connected {
		m.mu.Unlock()
		return
	}
	switch m.stream {
	case streamRequested:
		if now.Sub(later(m.requestedAt, m.connectedAt)) > m.confirmTimeout {
			m.st.LostRequests++
			m.trace.printf("stream %d: no number %v after the request: requesting again", m.seq.streams, m.confirmTimeout)
			m.stream = streamWanted
		}
	case streamRunning:
		if quiet := now.Sub(later(m.lastEventAt, m.connectedAt)); !m.stalled && quiet > m.stallTimeout {
			m.stalled = true
			m.st.Stalls++
			m.noteLocked("stream %d stalled: connected, but no number for %v", m.seq.streams, quiet.Round(time.Millisecond))
		}
	}
	if m.stream != streamWanted || m.sid == "" || m.sid != currentID() {
		m.mu.Unlock()
		return
	}
	m.stream, m.requestedAt = streamRequested, now
	m.st.StreamRequests++
	stream, sid := m.seq.streams, m.sid
	m.mu.Unlock()

	err := emit(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.trace.printf("stream %d: request on %s failed: %v", stream, sid, err)
		if m.seq.streams == stream && m.stream == streamRequested {
			m.stream = streamWanted
		}
		return
	}
	m.trace.printf("stream %d requested on socket %s", stream, sid)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// --- faults (injector goroutine) -------------------------------------------

// faultInjected records a link fault just before it is applied.
func (m *monitor) faultInjected(kind faultKind) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.Faults[kind]++
	m.trace.printf("fault: %s", kind)
	if !m.connected {
		m.st.FaultsWhileDown++
		return
	}
	m.pending = &pendingFault{kind: kind, at: time.Now()}
}

// freezeEnded is called at thaw: a freeze that lasted its full time and
// caused no disconnection was not detected.
func (m *monitor) freezeEnded(full bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.trace.printf("fault: thaw")
	if p := m.pending; full && p != nil && p.kind == faultFreeze {
		m.pending = nil
		m.st.FreezeUndetected++
		m.noteLocked("half-open link not detected within the %v freeze", time.Since(p.at).Round(time.Millisecond))
	}
}

// restartBegins records a server restart before it starts.
func (m *monitor) restartBegins() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.Faults[faultRestart]++
	m.restartGen++
	m.lastRestartAt = time.Now()
	m.trace.printf("fault: restart")
	if !m.connected {
		m.st.FaultsWhileDown++
		return
	}
	m.pending = &pendingFault{kind: faultRestart, at: m.lastRestartAt}
}

// restartEnds records the end of a server restart.
func (m *monitor) restartEnds(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.noteLocked("server restart failed: %v", err)
		return
	}
	m.trace.printf("server restarted in %v", time.Since(m.lastRestartAt).Round(time.Millisecond))
}

// --- notes and snapshots ----------------------------------------------------

// noteLocked records something the report must show: an anomaly or a
// surprising client behaviour. The first ones are printed at once on
// stderr with the recent trace, as evidence.
func (m *monitor) noteLocked(format string, args ...any) {
	msg := fmt.Sprintf("%8.3fs  %s", m.trace.elapsed().Seconds(), fmt.Sprintf(format, args...))
	m.trace.printf("NOTE: %s", fmt.Sprintf(format, args...))
	m.st.NotesTotal++
	if len(m.st.Notes) < maxListedNotes {
		m.st.Notes = append(m.st.Notes, msg)
	}
	if m.st.NotesTotal <= maxPrintedNotes {
		fmt.Fprintf(m.notesOut, "soak: note: %s\n  recent trace:\n%s\n", msg, m.trace.recent(noteTraceLines))
	}
}

// finish stops the accounting (the client is about to be closed, which
// reports a last disconnection) and returns the final figures.
func (m *monitor) finish() stats {
	m.mu.Lock()
	m.closing = true
	m.mu.Unlock()
	return m.snapshot()
}

// snapshot returns a copy of the figures.
func (m *monitor) snapshot() stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.st
	s.ByCause = make(map[string]causeStats, len(m.st.ByCause))
	for k, v := range m.st.ByCause {
		s.ByCause[k] = v
	}
	s.ReconnectTimes = slices.Clone(m.st.ReconnectTimes)
	slices.Sort(s.ReconnectTimes)
	s.Notes = slices.Clone(m.st.Notes)
	s.ConnectedAtEnd = m.connected
	s.Received, s.Lost, s.Duplicates, s.OutOfOrder, s.Missed = m.seq.received, m.seq.lost, m.seq.dups, m.seq.late, m.seq.missed
	s.Streams = m.seq.streams
	return s
}
