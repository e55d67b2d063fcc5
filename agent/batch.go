package agent

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/store"
)

// readingsQueue is how many OnReadings calls may wait for the batcher
// before the sampler is slowed down (back-pressure, never a drop).
const readingsQueue = 256

// enqueueTimeout bounds one Enqueue (an fsync) so that a stuck disk shows
// up in the logs, well before the systemd watchdog (30 s in the shipped
// unit) restarts an agent whose batcher stopped making progress.
const enqueueTimeout = 10 * time.Second

// batcher turns readings into outbox records.
type batcher struct {
	codec     *codec
	st        *store.Store
	maxCount  int
	maxDelay  time.Duration
	wake      func()
	log       *slog.Logger
	in        chan batchIn
	progress  atomic.Int64 // Unix nanoseconds of the last loop iteration
	enqueued  atomic.Uint64
	readings  atomic.Uint64
	failed    atomic.Uint64 // readings lost because Enqueue failed
	lastError atomic.Pointer[string]
}

type batchIn struct {
	rs     []sensors.Reading
	urgent bool
}

func newBatcher(c *codec, st *store.Store, maxCount int, maxDelay time.Duration, wake func(), log *slog.Logger) *batcher {
	return &batcher{codec: c, st: st, maxCount: maxCount, maxDelay: maxDelay, wake: wake, log: log, in: make(chan batchIn, readingsQueue)}
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
	case <-ctx.Done():
		// The sampler is stopping and the batcher is behind: these
		// readings were never stored. Count them as lost.
		b.failed.Add(uint64(len(rs)))
	}
}

// run collects readings into batches of at most maxCount readings, each
// enqueued when full, maxDelay after its first reading, or at once after an
// urgent reading. When ctx ends it enqueues what it holds (with a fresh
// context) and returns; call it again after a reload.
func (b *batcher) run(ctx context.Context) {
	var pending []sensors.Reading
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	tick := time.NewTicker(progressTick)
	defer tick.Stop()
	flush := func() {
		timer.Stop()
		for len(pending) > 0 {
			n := min(len(pending), b.maxCount)
			b.enqueue(pending[:n])
			pending = pending[n:]
		}
		pending = nil
	}
	for {
		b.progress.Store(time.Now().UnixNano())
		select {
		case in := <-b.in:
			if len(pending) == 0 {
				timer.Reset(b.maxDelay)
			}
			pending = append(pending, in.rs...)
			if in.urgent || len(pending) >= b.maxCount {
				flush()
			}
		case <-timer.C:
			flush()
		case <-tick.C:
		case <-ctx.Done():
			for {
				select {
				case in := <-b.in:
					pending = append(pending, in.rs...)
					continue
				default:
				}
				break
			}
			flush()
			return
		}
	}
}

// enqueue stores one batch durably and wakes the drainer.
func (b *batcher) enqueue(rs []sensors.Reading) {
	payload, err := b.codec.encodeBatch(rs)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), enqueueTimeout)
		_, err = outbox.Enqueue(ctx, b.st, len(rs), ContentTypeReadings, payload)
		cancel()
	}
	if err != nil {
		b.failed.Add(uint64(len(rs)))
		msg := err.Error()
		b.lastError.Store(&msg)
		level := slog.LevelError
		if errors.Is(err, store.ErrFull) {
			level = slog.LevelWarn
		}
		b.log.Log(context.Background(), level, "readings not stored", "count", len(rs), "err", err)
		return
	}
	b.enqueued.Add(1)
	b.readings.Add(uint64(len(rs)))
	b.wake()
}
