package agent

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/sioagent/sioagent/internal/backoff"
	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/store"
	"github.com/sioagent/sioagent/telemetry"
)

// readingsQueue is how many OnReadings calls may wait for the batcher
// before the sampler is slowed down (back-pressure, never a drop).
const readingsQueue = 256

// enqueueTimeout bounds one attempt to store a batch (an fsync) so that a
// stuck disk shows up in the logs, well before the systemd watchdog (30 s
// in the shipped unit) restarts an agent whose batcher stopped making
// progress. A batch that hits it is held and tried again (hold.go). The
// store honours it only until the commit holding the batch starts.
const enqueueTimeout = 10 * time.Second

// batcher turns readings into outbox records.
type batcher struct {
	codec     *telemetry.Codec
	st        *store.Store
	maxCount  int
	maxDelay  time.Duration
	maxBytes  int // config's batch_max_bytes; see cut
	wake      func()
	log       *slog.Logger
	in        chan batchIn
	progress  atomic.Int64 // Unix nanoseconds of the last loop iteration
	enqueued  atomic.Uint64
	readings  atomic.Uint64
	failed    atomic.Uint64 // readings lost before the outbox, every reason
	losses    lossCounts    // the same, by reason (LossReasons)
	lastError atomic.Pointer[string]

	// overflow is the outbox's policy: under store.Reject an ErrFull is a
	// refusal (counted), otherwise a reason to retry.
	overflow store.Overflow
	// enqueueFn commits one encoded batch (defaultEnqueue); timeout
	// bounds one attempt (enqueueTimeout) and retry paces the attempts
	// at held batches (enqueueRetryDelay to enqueueRetryDelayMax). Tests
	// replace them.
	enqueueFn func(ctx context.Context, count int, payload []byte) (uint64, error)
	timeout   time.Duration
	retry     backoff.Backoff
	// held are the batches the outbox refused for now, oldest first, and
	// heldN the readings they hold. Only run touches held.
	held  []heldBatch
	heldN atomic.Int64
}

type batchIn struct {
	rs     []sensors.Reading
	urgent bool
}

func newBatcher(c *telemetry.Codec, st *store.Store, maxCount int, maxDelay time.Duration, wake func(), log *slog.Logger) *batcher {
	return &batcher{codec: c, st: st, maxCount: maxCount, maxDelay: maxDelay, wake: wake, log: log, in: make(chan batchIn, readingsQueue),
		enqueueFn: defaultEnqueue(st), timeout: enqueueTimeout, retry: newRetryBackoff(enqueueRetryDelay, enqueueRetryDelayMax)}
}

// add is the sampler's OnReadings: it queues readings for the batcher.
// It blocks while the batcher is behind (the queue is full).
func (b *batcher) add(ctx context.Context, rs []sensors.Reading, urgent bool) {
	in := batchIn{rs: rs, urgent: urgent}
	select {
	case b.in <- in: // room: never dropped, even while ctx ends
		return
	default:
	}
	select {
	case b.in <- in:
		return
	case <-ctx.Done():
	}
	// The sampler is stopping (its last reads finish now) and the batcher
	// is behind; it keeps running until the sampler has stopped, so wait
	// for it, but not forever: it may be stuck on a stalled disk.
	t := time.NewTimer(stopHandoff)
	defer t.Stop()
	select {
	case b.in <- in:
	case <-t.C:
		b.lose(LossStopping, len(rs), errors.New("the batcher did not take them before the agent stopped"))
	}
}

// run collects readings into batches of at most maxCount readings, each
// enqueued when full, maxDelay after its first reading, or at once after an
// urgent reading. A batch the outbox refuses for a reason that may pass is
// held in memory (at most maxHeldReadings, then the sampler is slowed) and
// tried again, in order, with backoff. When ctx ends it stores what it holds
// and what is queued (each batch tried once more, with a fresh context),
// counts what still fails as lost (LossStopping) and returns; call it again
// after a reload.
func (b *batcher) run(ctx context.Context) {
	var pending []sensors.Reading
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	tick := time.NewTicker(progressTick)
	defer tick.Stop()
	schedule := func(again bool) {
		if again {
			retry.Reset(b.retry.Next())
		} else {
			b.retry.Reset()
		}
	}
	flush := func() {
		timer.Stop()
		for len(pending) > 0 {
			n := b.cut(pending)
			if h, ok := b.encode(pending[:n]); ok && b.submit(h) {
				schedule(true)
			}
			pending = pending[n:]
		}
		pending = nil
	}
	for {
		b.progress.Store(time.Now().UnixNano())
		in := b.in
		if b.pressing() {
			in = nil // back-pressure: add blocks, the sampler waits
		}
		select {
		case x := <-in:
			if len(pending) == 0 {
				timer.Reset(b.maxDelay)
			}
			pending = append(pending, x.rs...)
			if x.urgent || len(pending) >= b.maxCount {
				flush()
			}
		case <-timer.C:
			flush()
		case <-retry.C:
			schedule(b.retryHeld())
		case <-tick.C:
		case <-ctx.Done():
			for {
				select {
				case x := <-b.in:
					pending = append(pending, x.rs...)
					continue
				default:
				}
				break
			}
			// One last attempt for each batch: the held ones first (in
			// order, until one fails), then the rest.
			if len(b.held) > 0 && !b.retryHeld() {
				b.retry.Reset()
			}
			flush()
			b.loseHeld(LossStopping, errors.New("the outbox still refused them when the agent stopped"))
			return
		}
	}
}

// encode turns readings into a batch to store; a batch that cannot be
// encoded is counted as lost.
func (b *batcher) encode(rs []sensors.Reading) (heldBatch, bool) {
	payload, err := b.codec.Encode(rs)
	if err != nil {
		b.lose(LossEncode, len(rs), err)
		return heldBatch{}, false
	}
	return heldBatch{count: len(rs), payload: payload}, true
}
