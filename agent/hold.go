package agent

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/store"
	"github.com/sioagent/sioagent/telemetry"
)

// Bounds of the batches held in memory while the outbox refuses them.
const (
	// maxHeldReadings bounds the readings the batcher keeps in memory
	// while the outbox fails (stalled or failing disk, disk full, file at
	// its size limit). At this bound the batcher stops taking readings, so
	// the sampler is slowed (back-pressure) instead of readings being
	// dropped. A batch, and one sampler call, may take it past the bound
	// once. Stored readings take about 50 bytes each: some 500 KB.
	maxHeldReadings = 10_000
	// enqueueRetryDelay and enqueueRetryDelayMax are the first and the
	// longest pause (before jitter, see newRetryBackoff) between attempts
	// to store a held batch.
	enqueueRetryDelay    = time.Second
	enqueueRetryDelayMax = 30 * time.Second
	// stopHandoff is how long a sampler still handing readings over after
	// the agent began to stop waits for room in the batcher's queue
	// before those readings are counted as lost (LossStopping).
	stopHandoff = time.Second
)

// heldBatch is one encoded batch waiting for another attempt to store it.
type heldBatch struct {
	count   int
	payload []byte
}

// defaultEnqueue returns the batcher's way into the outbox: outbox.Enqueue
// into st. Tests replace it at this boundary to stall or fail it.
func defaultEnqueue(st *store.Store) func(context.Context, int, []byte) (uint64, error) {
	return func(ctx context.Context, count int, payload []byte) (uint64, error) {
		return outbox.Enqueue(ctx, st, count, telemetry.ContentTypeReadings, payload)
	}
}

// lose counts n readings lost for reason and logs it.
func (b *batcher) lose(reason string, n int, err error) {
	b.failed.Add(uint64(n))
	b.losses.add(reason, n)
	msg := err.Error()
	b.lastError.Store(&msg)
	level := slog.LevelError
	if reason == LossOutboxFull || reason == LossStopping {
		level = slog.LevelWarn
	}
	b.log.Log(context.Background(), level, "readings lost", "count", n, "reason", reason, "err", err)
}

// store makes one attempt to commit h. It returns false when h is done
// with (committed, or lost and counted) and true when h must be held and
// tried again.
func (b *batcher) store(h heldBatch) (retry bool) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	_, err := b.enqueueFn(ctx, h.count, h.payload)
	cancel()
	if err == nil {
		b.enqueued.Add(1)
		b.readings.Add(uint64(h.count))
		b.wake()
		return false
	}
	switch {
	case errors.Is(err, store.ErrFull) && b.overflow == store.Reject:
		// The policy keeps the queue as it is and refuses new readings.
		b.lose(LossOutboxFull, h.count, err)
	case errors.Is(err, store.ErrTooLarge):
		b.lose(LossTooLarge, h.count, err)
	case errors.Is(err, store.ErrClosed):
		b.lose(LossClosed, h.count, err)
	default:
		// A stalled disk (the timeout), a full disk, a file still at its
		// size limit after drop-oldest dropped what it could (the
		// drainer's deletes and compaction make room later), an I/O
		// error: nothing was stored, and a later attempt may succeed.
		msg := err.Error()
		b.lastError.Store(&msg)
		b.log.Warn("readings not stored yet; holding them for a retry", "count", h.count, "held", b.heldN.Load()+int64(h.count), "err", err)
		return true
	}
	return false
}

// hold queues h behind the batches already held.
func (b *batcher) hold(h heldBatch) {
	b.held = append(b.held, h)
	b.heldN.Add(int64(h.count))
}

// submit stores h, or holds it if batches are held already (they go first,
// in order) or if the attempt failed for a reason that may pass. It
// reports whether a retry must be scheduled.
func (b *batcher) submit(h heldBatch) bool {
	if len(b.held) > 0 {
		b.hold(h)
		return false // a retry is scheduled already
	}
	if b.store(h) {
		b.hold(h)
		return true
	}
	return false
}

// retryHeld tries the held batches in order until one fails again. It
// reports whether batches are still held.
func (b *batcher) retryHeld() bool {
	for len(b.held) > 0 {
		h := b.held[0]
		if b.store(h) {
			return true
		}
		b.held[0] = heldBatch{}
		b.held = b.held[1:]
		b.heldN.Add(-int64(h.count))
		if len(b.held) > 0 {
			b.log.Info("held readings stored", "count", h.count, "still_held", b.heldN.Load())
		}
	}
	b.held = nil
	return false
}

// pressing reports whether the batcher holds as many readings as it may
// and so takes no more: the sampler is being slowed on purpose.
func (b *batcher) pressing() bool { return b.heldN.Load() >= maxHeldReadings }

// loseHeld counts every held batch as lost for reason.
func (b *batcher) loseHeld(reason string, err error) {
	if n := int(b.heldN.Load()); n > 0 {
		b.lose(reason, n, err)
	}
	b.held = nil
	b.heldN.Store(0)
}
