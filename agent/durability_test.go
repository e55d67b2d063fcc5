package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/testenv"
	"github.com/sioagent/sioagent/store"
)

// Short pacing for the retry tests.
const (
	testEnqueueTimeout = 20 * time.Millisecond
	testRetryDelay     = 5 * time.Millisecond
	testRetryDelayMax  = 20 * time.Millisecond
)

// newRetryFixture is a batch fixture on a store opened with opts, with
// short retry pacing, logging to the returned buffer.
func newRetryFixture(t *testing.T, maxCount int, opts *store.Options) (*batchFixture, *testenv.Buffer) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "outbox.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logs := &testenv.Buffer{}
	f := &batchFixture{st: st, done: make(chan struct{})}
	f.b = newBatcher(testCodec(t), st, maxCount, longDelay, func() { f.wakes.Add(1) }, slog.New(slog.NewTextHandler(logs, nil)))
	if opts != nil {
		f.b.overflow = opts.Overflow
	}
	f.b.timeout = testEnqueueTimeout
	f.b.retry = newRetryBackoff(testRetryDelay, testRetryDelayMax)
	return f, logs
}

// stallFirst makes the first n attempts to store a batch behave as on a
// stalled disk: they return only when their context ends, having stored
// nothing (store.Append's contract). Later attempts reach the store.
func stallFirst(b *batcher, n int32) *atomic.Int32 {
	var calls atomic.Int32
	real := b.enqueueFn
	b.enqueueFn = func(ctx context.Context, count int, payload []byte) (uint64, error) {
		if calls.Add(1) <= n {
			<-ctx.Done()
			return 0, ctx.Err()
		}
		return real(ctx, count, payload)
	}
	return &calls
}

// A batch whose Enqueue hits the timeout on a stalled disk is held and
// tried again until it is stored; a batch made meanwhile is stored after
// it, in order; nothing is counted lost.
func TestBatcherRetriesStalledEnqueue(t *testing.T) {
	f, logs := newRetryFixture(t, 5, nil)
	calls := stallFirst(f.b, 3)
	f.start(t)
	f.b.add(context.Background(), numbered(1, 3), true)
	waitFor(t, "a retry", func() bool { return calls.Load() >= 2 })
	f.b.add(context.Background(), numbered(4, 5), true)
	f.waitRecords(t, 2)
	f.stop()
	wantBatches(t, f.batches(t), seq(1, 3), seq(4, 5))
	if n := f.b.failed.Load(); n != 0 {
		t.Errorf("%d readings counted lost", n)
	}
	if n := f.b.heldN.Load(); n != 0 {
		t.Errorf("%d readings still held", n)
	}
	if !strings.Contains(logs.String(), "holding them for a retry") {
		t.Errorf("the stall was not logged:\n%s", logs)
	}
}

// While the outbox fails, the batcher holds at most maxHeldReadings (plus
// one batch) and then takes no more readings: add blocks, which slows the
// sampler. Once the outbox works again everything is stored, in order.
func TestBatcherHeldBoundAndBackPressure(t *testing.T) {
	f, _ := newRetryFixture(t, 1000, nil)
	var broken atomic.Bool
	broken.Store(true)
	real := f.b.enqueueFn
	f.b.enqueueFn = func(ctx context.Context, count int, payload []byte) (uint64, error) {
		if broken.Load() {
			return 0, store.ErrDiskFull
		}
		return real(ctx, count, payload)
	}
	f.start(t)
	const per = 500
	total := 0
	blocked := make(chan int)
	go func() {
		for i := 0; ; i++ {
			rs := numbered(i*per+1, (i+1)*per)
			added := make(chan struct{})
			go func() { defer close(added); f.b.add(context.Background(), rs, true) }()
			select {
			case <-added:
				total += per
				continue
			case <-time.After(200 * time.Millisecond):
			}
			blocked <- total
			<-added
			total += per
			blocked <- total
			return
		}
	}()
	var before int
	select {
	case before = <-blocked:
	case <-time.After(testWait):
		t.Fatal("add never blocked while the outbox failed")
	}
	if held := f.b.heldN.Load(); held > maxHeldReadings+1000 {
		t.Fatalf("held %d readings, bound %d plus one batch", held, maxHeldReadings)
	}
	if before > maxHeldReadings+1000+readingsQueue*per {
		t.Fatalf("took %d readings before blocking", before)
	}
	broken.Store(false)
	all := <-blocked
	f.waitRecordsReadings(t, uint64(all))
	f.stop()
	if n := f.b.failed.Load(); n != 0 {
		t.Errorf("%d readings counted lost", n)
	}
	var last float64
	for _, b := range f.batches(t) {
		for _, v := range b {
			if v != last+1 {
				t.Fatalf("reading %v after %v: out of order or missing", v, last)
			}
			last = v
		}
	}
}

// waitFor polls cond until it holds, failing the test after testWait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", testWait, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitRecordsReadings waits until the batcher stored n readings.
func (f *batchFixture) waitRecordsReadings(t *testing.T, n uint64) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for f.b.readings.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("stored %d readings, want %d", f.b.readings.Load(), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Under the "reject" policy a full outbox refuses new readings: the batch
// is counted lost as LossOutboxFull, in the counters and the log line.
func TestBatcherFullRejectCountsLoss(t *testing.T) {
	f, logs := newRetryFixture(t, 5, &store.Options{MaxRecords: 1, Overflow: store.Reject})
	f.start(t)
	f.b.add(context.Background(), numbered(1, 2), true)
	f.waitRecords(t, 1)
	f.b.add(context.Background(), numbered(3, 5), true)
	waitFor(t, "the loss", func() bool { return f.b.failed.Load() >= 3 })
	f.stop()
	wantBatches(t, f.batches(t), seq(1, 2))
	got := f.b.losses.snapshot()
	for _, r := range LossReasons() {
		want := uint64(0)
		if r == LossOutboxFull {
			want = 3
		}
		if got[r] != want {
			t.Errorf("losses[%s] = %d, want %d (all: %v)", r, got[r], want, got)
		}
	}
	if !strings.Contains(logs.String(), "reason="+LossOutboxFull) {
		t.Errorf("the loss was not logged with its reason:\n%s", logs)
	}
}

// Under "drop-oldest" the store makes room itself (it drops the oldest
// records, also when the file is at MaxFileSize) and returns ErrFull only
// when even that failed (nothing left to drop, dead letters and free pages
// filling the file): the batch is held and tried again after the policy
// acted (the drainer's deletes, a compaction), not dropped.
func TestBatcherFullDropOldestRetries(t *testing.T) {
	f, _ := newRetryFixture(t, 5, &store.Options{Overflow: store.DropOldest})
	var calls atomic.Int32
	real := f.b.enqueueFn
	f.b.enqueueFn = func(ctx context.Context, count int, payload []byte) (uint64, error) {
		if calls.Add(1) <= 2 {
			return 0, fmt.Errorf("%w: file reached MaxFileSize", store.ErrFull)
		}
		return real(ctx, count, payload)
	}
	f.start(t)
	f.b.add(context.Background(), numbered(1, 3), true)
	f.waitRecords(t, 1)
	f.stop()
	wantBatches(t, f.batches(t), seq(1, 3))
	if n := f.b.failed.Load(); n != 0 || calls.Load() != 3 {
		t.Errorf("%d readings counted lost after %d attempts; want none lost after 3", n, calls.Load())
	}
}

// Batches the outbox still refuses when the batcher stops are counted
// lost (LossStopping), never silently gone.
func TestBatcherStopCountsHeld(t *testing.T) {
	f, _ := newRetryFixture(t, 5, nil)
	stallFirst(f.b, 1<<30)
	f.start(t)
	f.b.add(context.Background(), numbered(1, 3), true)
	waitFor(t, "held readings", func() bool { return f.b.heldN.Load() >= 3 })
	f.b.add(context.Background(), numbered(4, 4), false)
	f.stop()
	if got := f.b.losses.snapshot()[LossStopping]; got != 4 || f.b.failed.Load() != 4 {
		t.Errorf("lost %d (stopping %d), want 4", f.b.failed.Load(), got)
	}
}

// The status lists every loss reason and the held readings.
func TestStatusLossReasons(t *testing.T) {
	a, _ := startTestAgent(t, newFakeHardware("GPIO27", "GPIO17"))
	a.batch.lose(LossTooLarge, 7, errors.New("test"))
	s := a.Status()
	if s.Batches.Lost != 7 || len(s.Batches.Losses) != len(LossReasons()) || s.Batches.Losses[LossTooLarge] != 7 {
		t.Fatalf("Batches = %+v", s.Batches)
	}
	if line := s.statusLine(); !strings.Contains(line, "7 readings lost") {
		t.Errorf("STATUS= line %q does not say so", line)
	}
}
