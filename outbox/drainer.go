package outbox

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/store"
	"github.com/sioagent/sioagent/wire"
)

// telemetryEvent is the type of the wire contract's telemetry event.
type telemetryEvent = socketio.TypedEvent[socketio.Pair[wire.TelemetryHeader, []byte], wire.TelemetryAck]

// Defaults for Options (the window's are in window.go: WindowAuto).
const (
	// DefaultAckTimeout bounds the wait for each ack.
	DefaultAckTimeout = 10 * time.Second
	// DefaultMaxAttempts is how many permanent rejections a record gets
	// before it is dead-lettered.
	DefaultMaxAttempts = 5
	// DefaultRetryDelay is the first pause before records are sent again
	// after a timeout or a server error.
	DefaultRetryDelay = time.Second
	// DefaultRetryDelayMax caps that pause, which doubles at each failure
	// in a row.
	DefaultRetryDelayMax = 30 * time.Second
)

// ErrRunning is returned by Run while another Run of the same Drainer is
// in progress.
var ErrRunning = errors.New("outbox: drainer already running")

// Options configure a Drainer. A nil *Options is not allowed: DeviceID is
// required. NewDrainer never modifies the caller's Options.
type Options struct {
	// DeviceID goes into every header; the server dedupes on
	// (DeviceID, seq). Required.
	DeviceID string
	// Event is the event name; wire.DefaultTelemetryEvent when empty.
	Event string
	// Window is the most records in flight (sent, ack not yet received):
	// WindowAuto (zero, the default) adapts it to the link, from
	// AutoWindowInitial records, within AutoWindowMin to
	// AutoWindowMaxRecords records and AutoWindowMaxBytes; a positive
	// number fixes it (1 is stop-and-wait).
	Window int
	// AckTimeout bounds the wait for each ack; DefaultAckTimeout when
	// zero. SocketOptions.AckTimeout, if shorter, applies too.
	AckTimeout time.Duration
	// MaxAttempts is how many permanent rejections (an ack with
	// "permanent": true) a record gets before it is moved to the store's
	// dead-letter bucket; DefaultMaxAttempts when zero. Transient errors
	// and timeouts do not count: such records are kept until delivered.
	MaxAttempts int
	// RetryDelay is the pause before the unacknowledged records are sent
	// again after an ack timeout or a server error; DefaultRetryDelay when
	// zero. It doubles at each such failure in a row, up to RetryDelayMax
	// (DefaultRetryDelayMax when zero), spread by ±20%, and starts again
	// from RetryDelay after an ack that said ok. After a disconnection the
	// records are sent again as soon as the socket is connected: the
	// client's reconnection backoff is the pause.
	RetryDelay    time.Duration
	RetryDelayMax time.Duration
	// DrainRate, when positive, bounds the payload bytes per second the
	// drainer sends (a token bucket holding one second's worth), for
	// metered links; records still leave in seq order, one after the
	// other. Zero means no bound.
	DrainRate int64
	// OnAck, when set, is called with the round trip of every positive
	// ack (from the send to the ack's arrival): for an ack-latency
	// histogram. It runs on the drainer's goroutine and must be quick.
	OnAck func(time.Duration)
	// Logger receives dead letters and rejections (warn), timeouts and
	// disconnections (info) and more (debug); nothing when nil.
	Logger *slog.Logger
	// Prepare, when set, turns a stored batch into the batch that is sent,
	// just before each send (resends included): the agent uses it to
	// re-time readings taken before the clock was synchronised. The
	// record in the store is not changed. An error makes the record
	// unsendable: it is moved to the dead-letter bucket, like a record
	// that cannot be decoded.
	Prepare func(seq uint64, b Batch) (Batch, error)
}

// Stats is a snapshot of a Drainer's counters, since NewDrainer.
type Stats struct {
	// InFlight is the number of records sent whose ack has not arrived;
	// InFlightBytes their payload bytes.
	InFlight      int
	InFlightBytes int64
	// Window is the most records the drainer may have in flight now:
	// Options.Window when fixed, the current auto window otherwise.
	Window int
	// RTT is the round trip of the latest acks (the least of the last
	// few), MinRTT the least of the last 30 s, from which the auto window
	// tells a queue; both are zero with a fixed window or before the
	// first ack of a session.
	RTT, MinRTT time.Duration
	// Sent counts telemetry events emitted, resends included.
	Sent uint64
	// SentBytes counts the payload bytes of the events sent, resends
	// included.
	SentBytes uint64
	// Resends counts events of records this drainer had sent before.
	Resends uint64
	// Acked counts records the server acknowledged with ok that were then
	// removed from the store.
	Acked uint64
	// Duplicates counts, among Acked, the acks that said the server had
	// the record already ("duplicate": true).
	Duplicates uint64
	// Rejected counts acks with "ok": false (permanent or transient).
	Rejected uint64
	// Timeouts counts acks that did not come within AckTimeout.
	Timeouts uint64
	// Disconnects counts acks lost because the socket disconnected.
	Disconnects uint64
	// DeadLettered counts records this drainer moved to the dead-letter
	// bucket: rejected MaxAttempts times, undecodable, or refused by
	// Options.Prepare. The store keeps the durable total
	// (store.Stats.DeadLettered). A record too large for the session is
	// never dead-lettered: it is held (Held).
	DeadLettered uint64
	// Held is the record that holds the queue back because the current
	// session cannot carry it (see HeldRecord); nil when none is.
	Held *HeldRecord
	// LastError is the last failure (a *wire.AckError for a rejection), nil if
	// none; LastErrorAt is when it happened.
	LastError   error
	LastErrorAt time.Time
}

// Sender is what a Drainer needs of a Socket.IO socket; *socketio.Socket
// is one.
type Sender interface {
	// EmitWithAckAsync queues an event with an ack and returns its pending
	// ack (socketio.Socket.EmitWithAckAsync). An error matching
	// socketio.ErrPayloadTooLarge says the session cannot carry the
	// record (see HeldRecord); socketio.ErrClosed ends Run.
	EmitWithAckAsync(ctx context.Context, event string, args ...any) (*socketio.PendingAck, error)
	// WhenConnected returns a channel that is closed while the socket is
	// connected and renewed at each disconnection
	// (socketio.Socket.WhenConnected): the drainer waits on it.
	WhenConnected() <-chan struct{}
	// ID returns the socket id of the current session, "" while
	// disconnected: a record held in one session is tried at once in
	// another.
	ID() string
}

// Drainer sends the records of a store to a Socket.IO server and deletes
// each one once the server acknowledged it. Create it with NewDrainer, run
// it with Run. Its methods are safe for concurrent use.
type Drainer struct {
	st    *store.Store
	sock  Sender
	opts  Options
	event telemetryEvent // wire.Telemetry named Options.Event
	rate  *rateLimit     // Options.DrainRate; nil without
	log   *slog.Logger

	wake    chan struct{} // Wake; holds one signal
	running atomic.Bool

	mu      sync.Mutex
	stats   Stats
	removed chan struct{} // closed at the next removal: see Removed

	// Owned by the goroutine in Run.
	attempts    map[uint64]int // permanent rejections per seq
	highestSent uint64         // to tell resends from first sends
}

// NewDrainer returns a drainer of st to sock. It does no I/O; call Run.
// sock may be connected or not: the drainer sends only while it is
// connected. See the package documentation for how to wire
// SocketOptions.OnConnect to Wake.
func NewDrainer(st *store.Store, sock Sender, opts *Options) (*Drainer, error) {
	if st == nil || sock == nil {
		return nil, errors.New("outbox: NewDrainer needs a store and a socket")
	}
	if opts == nil || opts.DeviceID == "" {
		return nil, errors.New("outbox: Options.DeviceID is required")
	}
	o := *opts
	if o.Event == "" {
		o.Event = wire.DefaultTelemetryEvent
	}
	if o.Window < 0 || o.AckTimeout < 0 || o.MaxAttempts < 0 || o.RetryDelay < 0 || o.RetryDelayMax < 0 || o.DrainRate < 0 {
		return nil, errors.New("outbox: negative Window, AckTimeout, MaxAttempts, retry delay or DrainRate")
	}
	if o.AckTimeout == 0 {
		o.AckTimeout = DefaultAckTimeout
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.RetryDelay == 0 {
		o.RetryDelay = DefaultRetryDelay
	}
	if o.RetryDelayMax == 0 {
		o.RetryDelayMax = DefaultRetryDelayMax
	}
	o.RetryDelayMax = max(o.RetryDelayMax, o.RetryDelay)
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Drainer{
		st:       st,
		sock:     sock,
		opts:     o,
		event:    wire.Telemetry.Named(o.Event),
		rate:     newRateLimit(o.DrainRate),
		log:      log,
		wake:     make(chan struct{}, 1),
		removed:  make(chan struct{}),
		attempts: make(map[uint64]int),
	}
	d.stats.Window = o.Window
	if o.Window == WindowAuto {
		d.stats.Window = AutoWindowInitial
	}
	return d, nil
}

// Wake tells the drainer that something changed outside the store,
// typically that the socket connected: a record held because the last
// session could not carry it (HeldRecord) is then tried at once in the new
// session instead of after the retry delay. (Waiting for the socket to
// connect needs no Wake: the drainer waits on Sender.WhenConnected.) Call
// it from SocketOptions.OnConnect. It never blocks.
func (d *Drainer) Wake() { signal(d.wake) }

// Removed returns a channel that is closed the next time the drainer takes
// records out of the store's queue: acknowledged records removed, or a
// record dead-lettered. Take it before reading Store.Stats, then wait on
// it, so that a removal in between is not missed: the agent's shutdown
// waits so for the outbox to empty.
func (d *Drainer) Removed() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.removed
}

// tookOut closes the Removed channel and makes a new one.
func (d *Drainer) tookOut() {
	d.mu.Lock()
	defer d.mu.Unlock()
	close(d.removed)
	d.removed = make(chan struct{})
}

// Stats returns the drainer's counters.
func (d *Drainer) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

func (d *Drainer) count(f func(*Stats)) {
	d.mu.Lock()
	f(&d.stats)
	d.mu.Unlock()
}

func (d *Drainer) fail(err error) {
	d.count(func(s *Stats) { s.LastError, s.LastErrorAt = err, time.Now() })
}
