package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sioagent/sioagent/protocol/engineio"
	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/store"
)

// Defaults for Options.
const (
	// DefaultEvent is the event name of the wire contract.
	DefaultEvent = "telemetry"
	// DefaultWindow is how many records may wait for their acks at once.
	DefaultWindow = 32
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

// ConnectedPoll is how often a drainer that waits for its socket to connect
// checks Socket.Connected. Wake ends the wait at once.
const ConnectedPoll = 100 * time.Millisecond

// retryJitter spreads each retry delay by up to ± this fraction, so that
// devices refused by one overloaded server do not come back in step.
const retryJitter = 0.2

// ErrRunning is returned by Run while another Run of the same Drainer is
// in progress.
var ErrRunning = errors.New("outbox: drainer already running")

// Options configure a Drainer. A nil *Options is not allowed: DeviceID is
// required. NewDrainer never modifies the caller's Options.
type Options struct {
	// DeviceID goes into every header; the server dedupes on
	// (DeviceID, seq). Required.
	DeviceID string
	// Event is the event name; DefaultEvent when empty.
	Event string
	// Window is the most records in flight (sent, ack not yet received);
	// DefaultWindow when zero. 1 is stop-and-wait.
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
	// InFlight is the number of records sent whose ack has not arrived.
	InFlight int
	// Sent counts telemetry events emitted, resends included.
	Sent uint64
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
	// LastError is the last failure (an *AckError for a rejection), nil if
	// none; LastErrorAt is when it happened.
	LastError   error
	LastErrorAt time.Time
}

// Drainer sends the records of a store to a Socket.IO server and deletes
// each one once the server acknowledged it. Create it with NewDrainer, run
// it with Run. Its methods are safe for concurrent use.
type Drainer struct {
	st   *store.Store
	sock *socketio.Socket
	opts Options
	log  *slog.Logger

	wake    chan struct{} // Wake; holds one signal
	running atomic.Bool

	mu    sync.Mutex
	stats Stats

	// Owned by the goroutine in Run.
	attempts    map[uint64]int // permanent rejections per seq
	highestSent uint64         // to tell resends from first sends
}

// Deletion follows seq: a record acked with ok is deleted only once every
// record before it in the store is acked (or gone). Until then it is held
// in acked, in memory, and not sent again while Run lives; failed holds
// the records whose last send did not end in an ok (sorted).
type ackOrder struct {
	failed []uint64
	acked  map[uint64]bool
}

// NewDrainer returns a drainer of st to sock. It does no I/O; call Run.
// sock may be connected or not: the drainer sends only while it is
// connected. See the package documentation for how to wire
// SocketOptions.OnConnect to Wake.
func NewDrainer(st *store.Store, sock *socketio.Socket, opts *Options) (*Drainer, error) {
	if st == nil || sock == nil {
		return nil, errors.New("outbox: NewDrainer needs a store and a socket")
	}
	if opts == nil || opts.DeviceID == "" {
		return nil, errors.New("outbox: Options.DeviceID is required")
	}
	o := *opts
	if o.Event == "" {
		o.Event = DefaultEvent
	}
	if o.Window < 0 || o.AckTimeout < 0 || o.MaxAttempts < 0 || o.RetryDelay < 0 || o.RetryDelayMax < 0 {
		return nil, errors.New("outbox: negative Window, AckTimeout, MaxAttempts or retry delay")
	}
	if o.Window == 0 {
		o.Window = DefaultWindow
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
	return &Drainer{
		st:       st,
		sock:     sock,
		opts:     o,
		log:      log,
		wake:     make(chan struct{}, 1),
		attempts: make(map[uint64]int),
	}, nil
}

// Wake tells the drainer that something changed outside the store,
// typically that the socket connected: a drainer waiting for its socket
// resumes at once instead of at its next check (ConnectedPoll). Call it from
// SocketOptions.OnConnect. It never blocks.
func (d *Drainer) Wake() { signal(d.wake) }

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

// flight is a record sent and waiting for its ack.
type flight struct {
	seq    uint64
	pa     *socketio.PendingAck
	cancel context.CancelFunc
}

// drain is the state of one Run.
type drain struct {
	*Drainer
	ctx      context.Context
	round    context.Context    // parent of the in-flight emits
	abandon  context.CancelFunc // cancels round
	inflight []flight           // oldest first; seqs increase
	cursor   uint64             // the highest seq sent in this round
	held     bool               // a failure stopped sending: see Run
	until    time.Time          // held: not before this time
	delay    time.Duration      // the next retry delay
	fatal    error              // Run must return it
	rm       *remover
	order    ackOrder
	heldSID  string // the socket id of the session that refused Stats.Held
}

// Run drains the store until ctx ends, and then returns ctx.Err(). It
// returns sooner if the store is closed (an error matching
// store.ErrClosed) or if an emit fails because the socket's client was
// closed (socketio.ErrClosed). Only one Run may be active at a time.
//
// It reads the oldest records with Store.PeekAfter and emits each as the
// event of the wire contract, with up to Window of them in flight, in seq
// order. Acks are processed in the same order; the records acked with ok
// are removed, in seq order (a record acked after an older one that was
// not is held in memory until that one is acked or gone), by a goroutine
// of Run's own (Store.Remove, one transaction
// for all the acks that arrived during the previous one), so the window
// refills while a deletion waits for its fsync.
//
// A failure stops the sending: a disconnection abandons the emits in
// flight, a timeout or a server error lets them finish. Once none is in
// flight, after the retry delay (timeout, server error) or once the socket
// is connected again (disconnection), the drainer starts again from the
// oldest record left, so everything unacknowledged is sent again, in
// order. A record permanently rejected Options.MaxAttempts times is moved
// to the dead-letter bucket (Store.DeadLetter) and the queue goes on. A
// record larger than the session's maxPayload holds the queue (see
// HeldRecord and Stats.Held): it is tried again after the retry delay, or
// as soon as the socket connects in a new session.
func (d *Drainer) Run(ctx context.Context) error {
	if !d.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer d.running.Store(false)
	r := &drain{Drainer: d, ctx: ctx, delay: d.opts.RetryDelay, rm: newRemover(d)}
	r.order.acked = make(map[uint64]bool)
	r.round, r.abandon = context.WithCancel(ctx)
	go r.rm.run()
	defer r.shutdown()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.settle(false)
		if err := r.rm.takeErr(); err != nil {
			// The records stay queued and are sent again: the server
			// dedupes.
			r.storeFailed("remove", err)
		}
		if r.fatal != nil {
			return r.fatal
		}
		if r.held && len(r.inflight) == 0 && r.rm.idle() && d.sock.Connected() &&
			(!time.Now().Before(r.until) || r.newSession()) {
			r.resume()
		}
		storeWake := d.st.Wait() // before PeekAfter: no append is missed
		if !r.held && len(r.inflight) < d.opts.Window {
			r.fill()
			if r.fatal != nil {
				return r.fatal
			}
		}

		var headDone <-chan struct{}
		if len(r.inflight) > 0 {
			headDone = r.inflight[0].pa.Done()
		}
		if r.held || len(r.inflight) >= d.opts.Window {
			storeWake = nil
		}
		var timerC <-chan time.Time
		if r.held && len(r.inflight) == 0 && r.rm.idle() {
			wait := time.Until(r.until)
			if wait <= 0 {
				wait = ConnectedPoll // waiting for the socket
			}
			timer.Reset(wait)
			timerC = timer.C
		}
		select {
		case <-ctx.Done():
		case <-headDone:
		case <-storeWake:
		case <-d.wake:
		case <-timerC:
		case <-r.rm.finished:
		}
	}
}

// fill sends records until the window is full, the store has no more, or
// sending fails. Records it dead-letters (undecodable) take
// room in a peek but none in the window, so it peeks again while the
// window has room and the last peek was full: nothing else would wake
// Run for the records behind them.
func (r *drain) fill() {
	for !r.held && r.fatal == nil && len(r.inflight) < r.opts.Window {
		want := r.opts.Window - len(r.inflight)
		if got := r.fillOnce(want); got < want {
			return
		}
	}
}

// fillOnce peeks up to n records after the cursor and sends them; it
// returns how many the peek found.
func (r *drain) fillOnce(n int) int {
	if !r.sock.Connected() {
		r.hold(0, nil)
		return 0
	}
	recs, err := r.st.PeekAfter(r.cursor, n)
	if err != nil {
		r.storeFailed("peek", err)
		return 0
	}
	if r.cursor == 0 && len(recs) > 0 {
		for seq := range r.attempts {
			if seq < recs[0].Seq {
				delete(r.attempts, seq) // gone: dropped by a bound
			}
		}
		for seq := range r.order.acked {
			if seq < recs[0].Seq {
				delete(r.order.acked, seq) // gone: dropped by a bound
			}
		}
	}
	for _, rec := range recs {
		// Records that failed and are gone since (dropped by a bound)
		// no longer hold back the ones after them.
		r.dropFailedBetween(r.cursor, rec.Seq)
		if r.order.acked[rec.Seq] {
			r.cursor = rec.Seq // acked, held for deletion in order
			continue
		}
		var b Batch
		if err := b.UnmarshalBinary(rec.Data); err != nil {
			if !r.deadLetter(rec.Seq, err.Error()) {
				return 0
			}
			r.cursor = rec.Seq
			continue
		}
		if r.opts.Prepare != nil {
			if b, err = r.opts.Prepare(rec.Seq, b); err != nil {
				if !r.deadLetter(rec.Seq, "prepare: "+err.Error()) {
					return 0
				}
				r.cursor = rec.Seq
				continue
			}
		}
		if b.Payload == nil {
			b.Payload = []byte{} // an empty attachment, not null
		}
		h := Header{DeviceID: r.opts.DeviceID, Seq: rec.Seq, Count: b.Count, ContentType: b.ContentType, Clock: b.Clock, Replaces: b.Replaces}
		fctx, cancel := context.WithTimeout(r.round, r.opts.AckTimeout)
		pa, err := r.sock.EmitWithAckAsync(fctx, r.opts.Event, h, b.Payload)
		if err != nil {
			cancel()
			if errors.Is(err, engineio.ErrPayloadTooLarge) {
				// Too large for this session, not for good: hold the
				// queue here, in order, until a session takes it.
				r.tooLarge(rec.Seq, err)
				return 0
			}
			r.sendFailed(err)
			return 0
		}
		if h := r.Stats().Held; h != nil && rec.Seq >= h.Seq {
			r.unheld(rec.Seq == h.Seq)
		}
		r.cursor = rec.Seq
		resend := rec.Seq <= r.highestSent
		r.highestSent = max(r.highestSent, rec.Seq)
		r.inflight = append(r.inflight, flight{seq: rec.Seq, pa: pa, cancel: cancel})
		r.count(func(s *Stats) {
			s.Sent++
			if resend {
				s.Resends++
			}
			s.InFlight = len(r.inflight)
		})
	}
	if len(recs) < n {
		// The end of the queue: failed records after it are gone, and so
		// is a held record not met on the way.
		r.dropFailedBetween(r.cursor, ^uint64(0))
		r.unheld(false)
	}
	return len(recs)
}

// sendFailed handles an emit that could not even be queued.
func (r *drain) sendFailed(err error) {
	switch {
	case errors.Is(err, socketio.ErrClosed):
		r.fatal = fmt.Errorf("outbox: %w", err)
	case errors.Is(err, socketio.ErrReservedEvent):
		r.fatal = fmt.Errorf("outbox: event %q: %w", r.opts.Event, err)
	case errors.Is(err, socketio.ErrNotConnected), errors.Is(err, socketio.ErrDisconnected),
		errors.Is(err, socketio.ErrSendBufferFull):
		// Connected said yes a moment ago: wait a little, not in a loop.
		r.log.Debug("outbox: socket not connected; waiting", "err", err)
		r.hold(ConnectedPoll, nil)
	case r.ctx.Err() != nil:
		// Run is ending.
	default:
		r.log.Info("outbox: emit failed; retrying later", "err", err)
		r.hold(r.nextDelay(), err)
	}
}

// settle processes the flights at the head of the window whose outcome is
// known, in seq order, and hands the records acked with ok to the remover.
// With wait, it waits for every flight (Run is ending).
func (r *drain) settle(wait bool) {
	okCount, dups := 0, 0
	for len(r.inflight) > 0 {
		f := r.inflight[0]
		if !wait && !closed(f.pa.Done()) {
			break
		}
		r.inflight = r.inflight[1:]
		args, err := f.pa.Result()
		f.cancel()
		if err != nil {
			r.addFailed(f.seq)
			r.lost(f.seq, err)
			continue
		}
		ack, err := parseAck(args)
		if err != nil {
			r.addFailed(f.seq)
			r.rejected(f.seq, err.(*AckError))
			continue
		}
		r.removeFailed(f.seq)
		delete(r.attempts, f.seq)
		r.order.acked[f.seq] = true
		okCount++
		if ack.Duplicate {
			dups++
		}
	}
	if okCount > 0 {
		r.delay = r.opts.RetryDelay
	}
	r.release()
	r.count(func(s *Stats) {
		s.InFlight = len(r.inflight)
		s.Duplicates += uint64(dups)
	})
}

// lost handles a flight that ended without an ack.
func (r *drain) lost(seq uint64, err error) {
	switch {
	case errors.Is(err, context.Canceled):
		// Abandoned by us (disconnection, or Run ending): already held.
	case errors.Is(err, socketio.ErrDisconnected):
		if errors.Is(err, socketio.ErrClosed) {
			r.fatal = fmt.Errorf("outbox: %w", err)
		}
		r.count(func(s *Stats) { s.Disconnects++ })
		r.hold(0, err)
		r.abandonRound(err)
	case errors.Is(err, socketio.ErrAckTimeout):
		r.log.Info("outbox: ack timed out", "seq", seq, "timeout", r.opts.AckTimeout)
		r.count(func(s *Stats) { s.Timeouts++ })
		r.hold(r.nextDelay(), err)
	default:
		r.log.Info("outbox: emit failed", "seq", seq, "err", err)
		r.hold(r.nextDelay(), err)
	}
}

// storeFailed handles a store error: fatal when the store is closed,
// otherwise retried later.
func (r *drain) storeFailed(op string, err error) {
	if errors.Is(err, store.ErrClosed) {
		r.fatal = fmt.Errorf("outbox: %s: %w", op, err)
		return
	}
	r.log.Error("outbox: store "+op+" failed; retrying later", "err", err)
	r.hold(r.nextDelay(), fmt.Errorf("outbox: store %s: %w", op, err))
}

// shutdown ends a Run: it abandons the flights, keeps the acks that had
// arrived, and waits for the socket to release every flight.
func (r *drain) shutdown() {
	r.abandon()
	r.held = true
	r.settle(true)
	r.rm.close()
	r.count(func(s *Stats) { s.InFlight = 0 })
}

// addFailed records that seq was sent and not acked with ok.
func (r *drain) addFailed(seq uint64) {
	i, found := slices.BinarySearch(r.order.failed, seq)
	if !found {
		r.order.failed = slices.Insert(r.order.failed, i, seq)
	}
}

// removeFailed forgets seq as failed (acked, or gone from the store).
func (r *drain) removeFailed(seq uint64) {
	if i, found := slices.BinarySearch(r.order.failed, seq); found {
		r.order.failed = slices.Delete(r.order.failed, i, i+1)
	}
}

// dropFailedBetween forgets the failed seqs strictly between lo and hi: the
// store holds no record there any more (dropped by a bound).
func (r *drain) dropFailedBetween(lo, hi uint64) {
	r.order.failed = slices.DeleteFunc(r.order.failed, func(seq uint64) bool { return seq > lo && seq < hi })
}

// release hands to the remover, in seq order, the acked records that no
// failed record precedes.
func (r *drain) release() {
	limit := ^uint64(0)
	if len(r.order.failed) > 0 {
		limit = r.order.failed[0]
	}
	var seqs []uint64
	for seq := range r.order.acked {
		if seq < limit {
			seqs = append(seqs, seq)
		}
	}
	if len(seqs) == 0 {
		return
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		delete(r.order.acked, seq)
	}
	r.rm.add(seqs)
}
