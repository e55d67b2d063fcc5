package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sioagent/sioagent/internal/backoff"
	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/store"
	"github.com/sioagent/sioagent/wire"
)

// notQueuedPause is how long the drainer pauses after an emit refused
// because the socket, connected a moment before, lost its session: the
// socket then renews its WhenConnected channel, on which the drainer
// waits. It is a pause after a failure, not a polling period.
const notQueuedPause = 100 * time.Millisecond

// maxPeek bounds the records read from the store at once to fill the
// window, whose records may be many and large.
const maxPeek = 64

// flight is a record sent and waiting for its ack.
type flight struct {
	seq    uint64
	pa     *socketio.PendingAck
	cancel context.CancelFunc
	// n numbers the sends of one Run (resends included); bytes is the
	// payload's size; sent is when the emit began; inflight is the
	// records in flight with it, itself included (how much of the window
	// was used).
	n        uint64
	bytes    int
	sent     time.Time
	inflight int
}

// drain is the state of one Run.
type drain struct {
	d        *Drainer
	ctx      context.Context
	round    context.Context    // parent of the in-flight emits
	abandon  context.CancelFunc // cancels round
	inflight []flight           // oldest first; seqs increase
	inBytes  int                // the payload bytes of inflight
	// bytesFull: the next record did not fit AutoWindowMaxBytes; no
	// room until a flight ends.
	bytesFull bool
	sends     uint64          // sends so far: the next flight.n
	auto      *autoWindow     // Options.Window = WindowAuto; nil when fixed
	cursor    uint64          // the highest seq sent in this round
	held      bool            // a failure stopped sending: see Run
	until     time.Time       // held: not before this time
	retry     backoff.Backoff // the retry delays; reset by an ack that said ok
	fatal     error           // Run must return it
	rm        *remover
	order     ackOrder
	heldSID   string // the socket id of the session that refused Stats.Held
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
	r := &drain{d: d, ctx: ctx, retry: newRetryBackoff(&d.opts), rm: newRemover(d)}
	if d.opts.Window == WindowAuto {
		r.auto = newAutoWindow(d.opts.AckTimeout)
	}
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
		if r.held && len(r.inflight) == 0 && r.rm.idle() && closed(d.sock.WhenConnected()) &&
			(!time.Now().Before(r.until) || r.newSession()) {
			r.resume()
		}
		storeWake := d.st.Wait() // before PeekAfter: no append is missed
		if !r.held && r.room() {
			r.fill()
			if r.fatal != nil {
				return r.fatal
			}
		}

		var headDone <-chan struct{}
		if len(r.inflight) > 0 {
			headDone = r.inflight[0].pa.Done()
		}
		if r.held || !r.room() {
			storeWake = nil
		}
		var timerC <-chan time.Time
		var upC <-chan struct{}
		if r.held && len(r.inflight) == 0 && r.rm.idle() {
			if wait := time.Until(r.until); wait > 0 {
				timer.Reset(wait)
				timerC = timer.C
			} else {
				upC = d.sock.WhenConnected() // open: resume would have run
			}
		}
		select {
		case <-ctx.Done():
		case <-headDone:
		case <-storeWake:
		case <-d.wake:
		case <-timerC:
		case <-upC:
		case <-r.rm.finished:
		}
	}
}

// sendFailed handles an emit that could not even be queued.
func (r *drain) sendFailed(err error) {
	switch {
	case errors.Is(err, socketio.ErrClosed):
		r.fatal = fmt.Errorf("outbox: %w", err)
	case errors.Is(err, socketio.ErrReservedEvent):
		r.fatal = fmt.Errorf("outbox: event %q: %w", r.d.event.Name(), err)
	case errors.Is(err, socketio.ErrNotConnected), errors.Is(err, socketio.ErrDisconnected),
		errors.Is(err, socketio.ErrSendBufferFull):
		// The socket looked connected a moment ago: the session is ending
		// under the drainer. Pause, then wait for WhenConnected (whose
		// channel the socket renews once it noticed).
		r.d.log.Debug("outbox: socket not connected; waiting", "err", err)
		r.hold(notQueuedPause, nil)
	case r.ctx.Err() != nil:
		// Run is ending.
	default:
		r.d.log.Info("outbox: emit failed; retrying later", "err", err)
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
		r.inBytes -= f.bytes
		r.bytesFull = false
		args, err := f.pa.Result()
		f.cancel()
		if err != nil {
			if r.auto != nil && errors.Is(err, socketio.ErrAckTimeout) {
				r.auto.timedOut(f, r.sends)
			}
			r.addFailed(f.seq)
			r.lost(f.seq, err)
			continue
		}
		if r.auto != nil {
			r.auto.acked(f, f.pa.At(), r.sends)
		}
		ack, err := r.d.event.DecodeAck(args)
		if err == nil && !ack.OK {
			err = ack.Error
		}
		if err != nil {
			r.addFailed(f.seq)
			r.rejected(f.seq, asAckError(err))
			continue
		}
		if r.d.opts.OnAck != nil {
			r.d.opts.OnAck(f.pa.At().Sub(f.sent))
		}
		r.removeFailed(f.seq)
		delete(r.d.attempts, f.seq)
		r.order.acked[f.seq] = true
		okCount++
		if ack.Duplicate {
			dups++
		}
	}
	if okCount > 0 {
		r.retry.Reset()
	}
	r.release()
	r.d.count(func(s *Stats) {
		r.window(s)
		s.Duplicates += uint64(dups)
	})
}

// asAckError returns the *wire.AckError of a refused or unreadable ack:
// an ack that does not decode is a transient wire.CodeBadAck.
func asAckError(err error) *wire.AckError {
	var ae *wire.AckError
	if errors.As(err, &ae) {
		return ae
	}
	return &wire.AckError{Code: wire.CodeBadAck, Message: err.Error()}
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
		r.d.count(func(s *Stats) { s.Disconnects++ })
		r.hold(0, err)
		r.abandonRound(err)
	case errors.Is(err, socketio.ErrAckTimeout):
		r.d.log.Info("outbox: ack timed out", "seq", seq, "timeout", r.d.opts.AckTimeout)
		r.d.count(func(s *Stats) { s.Timeouts++ })
		r.hold(r.nextDelay(), err)
	default:
		r.d.log.Info("outbox: emit failed", "seq", seq, "err", err)
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
	r.d.log.Error("outbox: store "+op+" failed; retrying later", "err", err)
	r.hold(r.nextDelay(), fmt.Errorf("outbox: store %s: %w", op, err))
}

// shutdown ends a Run: it abandons the flights, keeps the acks that had
// arrived, and waits for the socket to release every flight.
func (r *drain) shutdown() {
	r.abandon()
	r.held = true
	r.settle(true)
	r.rm.close()
	r.d.count(func(s *Stats) { s.InFlight, s.InFlightBytes = 0, 0 })
}
