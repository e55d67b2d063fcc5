package agent

import (
	"context"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/store"
	"github.com/sioagent/sioagent/telemetry"
)

// longDelay is a batch delay that never passes within a test.
const longDelay = time.Hour

// testDevice is the device id of the agent's codec in these tests.
const testDevice = "pi-7"

func testCodec(t *testing.T) *telemetry.Codec {
	t.Helper()
	c, err := telemetry.New(testDevice)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ms returns seconds as whole milliseconds.
func ms(s float64) int64 { return int64(math.Round(s * 1000)) }

type batchFixture struct {
	b      *batcher
	st     *store.Store
	wakes  atomic.Int32
	cancel context.CancelFunc
	done   chan struct{}
}

func newBatchFixture(t *testing.T, maxCount int, maxDelay time.Duration) *batchFixture {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "outbox.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &batchFixture{st: st, done: make(chan struct{})}
	f.b = newBatcher(testCodec(t), st, maxCount, maxDelay, func() { f.wakes.Add(1) }, slog.New(slog.DiscardHandler))
	return f
}

// start runs the batcher until stop or the end of the test.
func (f *batchFixture) start(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go func() { defer close(f.done); f.b.run(ctx) }()
	t.Cleanup(f.stop)
}

// stop stops the batcher and waits for it; it may be called again.
func (f *batchFixture) stop() {
	f.cancel()
	<-f.done
}

// numbered returns readings with values from..to.
func numbered(from, to int) []sensors.Reading {
	var rs []sensors.Reading
	for i := from; i <= to; i++ {
		rs = append(rs, sensors.Reading{Sensor: "s", Quantity: "v", Value: float64(i), Time: time.Unix(1764100000+int64(i), 0), Mono: time.Duration(i) * time.Second, Boot: "b1", Synced: true})
	}
	return rs
}

// waitRecords waits until the store holds n records.
func (f *batchFixture) waitRecords(t *testing.T, n uint64) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for f.st.Stats().Count < n {
		if time.Now().After(deadline) {
			t.Fatalf("store holds %d records, want %d", f.st.Stats().Count, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// batches returns the values of each stored batch, oldest first.
func (f *batchFixture) batches(t *testing.T) [][]float64 {
	t.Helper()
	recs, err := f.st.Peek(1000)
	if err != nil {
		t.Fatal(err)
	}
	c := testCodec(t)
	var out [][]float64
	for _, r := range recs {
		var b outbox.Batch
		if err := b.UnmarshalBinary(r.Data); err != nil {
			t.Fatal(err)
		}
		if b.ContentType != telemetry.ContentTypeReadings {
			t.Errorf("content type %q", b.ContentType)
		}
		rs, err := c.Decode(b.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if b.Count != len(rs) {
			t.Errorf("record count %d, payload holds %d", b.Count, len(rs))
		}
		var vs []float64
		for _, r := range rs {
			vs = append(vs, r.Value)
		}
		out = append(out, vs)
	}
	return out
}

func wantBatches(t *testing.T, got [][]float64, want ...[]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("batches %v, want %v", got, want)
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("batches %v, want %v", got, want)
		}
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Fatalf("batches %v, want %v", got, want)
			}
		}
	}
}

func seq(from, to int) []float64 {
	var v []float64
	for i := from; i <= to; i++ {
		v = append(v, float64(i))
	}
	return v
}

func TestBatcherMaxCountOneByOne(t *testing.T) {
	const delay = 50 * time.Millisecond
	f := newBatchFixture(t, 5, delay)
	f.start(t)
	for _, r := range numbered(1, 12) {
		f.b.add(context.Background(), []sensors.Reading{r}, false)
	}
	f.waitRecords(t, 3)
	wantBatches(t, f.batches(t), seq(1, 5), seq(6, 10), seq(11, 12))
	f.stop() // wake follows the commit; wait for the batcher to be done
	if n := f.wakes.Load(); n != 3 {
		t.Errorf("wake called %d times, want 3", n)
	}
	if f.b.enqueued.Load() != 3 || f.b.readings.Load() != 12 || f.b.failed.Load() != 0 {
		t.Errorf("counters: %d batches, %d readings, %d lost", f.b.enqueued.Load(), f.b.readings.Load(), f.b.failed.Load())
	}
}

func TestBatcherMaxCountOneCall(t *testing.T) {
	f := newBatchFixture(t, 5, longDelay)
	f.start(t)
	f.b.add(context.Background(), numbered(1, 12), false)
	f.waitRecords(t, 3) // all at once: the batch delay never passes here
	wantBatches(t, f.batches(t), seq(1, 5), seq(6, 10), seq(11, 12))
	f.stop() // wake follows the commit; wait for the batcher to be done
	if n := f.wakes.Load(); n != 3 {
		t.Errorf("wake called %d times, want 3", n)
	}
}

func TestBatcherMaxDelay(t *testing.T) {
	const delay = 50 * time.Millisecond
	f := newBatchFixture(t, 100, delay)
	f.start(t)
	start := time.Now()
	f.b.add(context.Background(), numbered(1, 2), false)
	f.b.add(context.Background(), numbered(3, 3), false)
	f.waitRecords(t, 1)
	if el := time.Since(start); el < delay {
		t.Errorf("flushed after %s, before the %s delay", el, delay)
	}
	wantBatches(t, f.batches(t), seq(1, 3))
	// The next reading starts a new delay.
	f.b.add(context.Background(), numbered(4, 4), false)
	f.waitRecords(t, 2)
	wantBatches(t, f.batches(t), seq(1, 3), seq(4, 4))
}

func TestBatcherUrgent(t *testing.T) {
	f := newBatchFixture(t, 100, longDelay)
	f.start(t)
	f.b.add(context.Background(), numbered(1, 2), false)
	f.b.add(context.Background(), numbered(3, 3), true)
	f.waitRecords(t, 1)
	wantBatches(t, f.batches(t), seq(1, 3))
	f.stop()
	if n := f.wakes.Load(); n != 1 {
		t.Errorf("wake called %d times, want 1", n)
	}
}

func TestBatcherCancelFlushes(t *testing.T) {
	f := newBatchFixture(t, 5, longDelay)
	f.start(t)
	f.b.add(context.Background(), numbered(1, 3), false)
	// Wait until the batcher holds them (it is idle once the queue is
	// empty), then stop it.
	deadline := time.Now().Add(testWait)
	for len(f.b.in) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("batcher did not take the readings")
		}
		time.Sleep(time.Millisecond)
	}
	f.stop()
	wantBatches(t, f.batches(t), seq(1, 3))
}

// TestBatcherCancelDrainsQueue: readings still in the queue when ctx ends
// are stored too, split by maxCount.
func TestBatcherCancelDrainsQueue(t *testing.T) {
	f := newBatchFixture(t, 5, longDelay)
	f.b.add(context.Background(), numbered(1, 4), false)
	f.b.add(context.Background(), numbered(5, 7), false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.b.run(ctx) // returns at once
	wantBatches(t, f.batches(t), seq(1, 5), seq(6, 7))
	if n := f.wakes.Load(); n != 2 {
		t.Errorf("wake called %d times, want 2", n)
	}
}

func TestBatcherEnqueueFails(t *testing.T) {
	f := newBatchFixture(t, 5, longDelay)
	if err := f.st.Close(); err != nil {
		t.Fatal(err)
	}
	f.b.add(context.Background(), numbered(1, 7), false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.b.run(ctx)
	if n := f.b.failed.Load(); n != 7 {
		t.Errorf("lost %d readings, want 7", n)
	}
	if f.b.enqueued.Load() != 0 || f.b.readings.Load() != 0 || f.wakes.Load() != 0 {
		t.Errorf("counted as stored: %d batches, %d readings, %d wakes", f.b.enqueued.Load(), f.b.readings.Load(), f.wakes.Load())
	}
	e := f.b.lastError.Load()
	if e == nil || !strings.Contains(*e, "closed") {
		t.Errorf("lastError %v", e)
	}
}

// TestBatcherAddUnblocksOnCancel: a full queue blocks add until its ctx
// ends (back-pressure, never a drop, never a hang at shutdown).
func TestBatcherAddUnblocksOnCancel(t *testing.T) {
	f := newBatchFixture(t, 5, longDelay)
	for range readingsQueue {
		f.b.add(context.Background(), numbered(1, 1), false)
	}
	ctx, cancel := context.WithCancel(context.Background())
	returned := make(chan struct{})
	go func() { defer close(returned); f.b.add(ctx, numbered(2, 2), false) }()
	select {
	case <-returned:
		t.Fatal("add on a full queue returned at once")
	case <-time.After(20 * time.Millisecond):
	}
	cancel()
	<-returned
	if n := len(f.b.in); n != readingsQueue {
		t.Errorf("queue holds %d, want %d", n, readingsQueue)
	}
}
