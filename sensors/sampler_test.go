package sensors

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sioagent/sioagent/internal/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitLimit bounds how long a test waits for something that must happen.
const waitLimit = 10 * time.Second

// fakeSensor is a Sensor whose reads are scripted by fn.
type fakeSensor struct {
	name     string
	fn       func(ctx context.Context, i int) ([]Value, error)
	reads    atomic.Int64
	inflight atomic.Int32
	overlap  atomic.Bool
	closes   atomic.Int32
}

func (f *fakeSensor) Name() string { return f.name }

func (f *fakeSensor) Read(ctx context.Context) ([]Value, error) {
	if f.inflight.Add(1) > 1 {
		f.overlap.Store(true)
	}
	defer f.inflight.Add(-1)
	i := int(f.reads.Add(1))
	if f.fn == nil {
		return []Value{{Quantity: "q", Unit: "u", Value: float64(i)}}, nil
	}
	return f.fn(ctx, i)
}

func (f *fakeSensor) Close() error { f.closes.Add(1); return nil }

// fakeClock returns stamps with a fixed wall time and a Mono that grows by
// one second per call.
type fakeClock struct{ n atomic.Int64 }

var fakeWall = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func (c *fakeClock) Now() Stamp {
	n := c.n.Add(1)
	return Stamp{Wall: fakeWall, Mono: time.Duration(n) * time.Second, Boot: "boot-1", Synced: n%2 == 0}
}

// batch is one call of OnReadings.
type batch struct {
	rs     []Reading
	urgent bool
}

// harness runs a Sampler and collects what it reports.
type harness struct {
	s      *Sampler
	got    chan batch
	logs   *testenv.Buffer
	cancel context.CancelFunc
	done   chan error
}

func newHarness(t *testing.T, opts SamplerOptions, scheds ...Schedule) *harness {
	t.Helper()
	h := &harness{got: make(chan batch, 1000), logs: &testenv.Buffer{}, done: make(chan error, 1)}
	if opts.Clock == nil {
		opts.Clock = &fakeClock{}
	}
	opts.Logger = slog.New(slog.NewTextHandler(h.logs, nil))
	opts.OnReadings = func(rs []Reading, urgent bool) { h.got <- batch{rs, urgent} }
	s, err := NewSampler(opts, scheds)
	if err != nil {
		t.Fatalf("NewSampler: %v", err)
	}
	s.minBackoff = 10 * time.Millisecond
	s.jitter = func() float64 { return 0.5 }
	h.s = s
	return h
}

func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.s.Run(ctx) }()
}

func (h *harness) stop(t *testing.T) {
	t.Helper()
	h.cancel()
	select {
	case err := <-h.done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Run did not return after cancel")
	}
}

// next waits for the next batch, optionally of one sensor only.
func (h *harness) next(t *testing.T, sensor string) batch {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case b := <-h.got:
			if sensor == "" || (len(b.rs) > 0 && b.rs[0].Sensor == sensor) {
				return b
			}
		case <-deadline:
			t.Fatalf("no readings from %q", sensor)
		}
	}
}

func statusOf(t *testing.T, s *Sampler, name string) SensorStatus {
	t.Helper()
	for _, st := range s.Status() {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("no status for %q", name)
	return SensorStatus{}
}

// eventually polls cond until it holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNewSamplerErrors(t *testing.T) {
	a := &fakeSensor{name: "a"}
	tests := []struct {
		name   string
		opts   SamplerOptions
		scheds []Schedule
	}{
		{"nil sensor", SamplerOptions{}, []Schedule{{Interval: time.Second}}},
		{"empty name", SamplerOptions{}, []Schedule{{Sensor: &fakeSensor{}, Interval: time.Second}}},
		{"zero interval", SamplerOptions{}, []Schedule{{Sensor: a}}},
		{"negative interval", SamplerOptions{}, []Schedule{{Sensor: a, Interval: -time.Second}}},
		{"negative timeout", SamplerOptions{}, []Schedule{{Sensor: a, Interval: time.Second, Timeout: -1}}},
		{"duplicate", SamplerOptions{}, []Schedule{{Sensor: a, Interval: time.Second}, {Sensor: &fakeSensor{name: "a"}, Interval: time.Second}}},
		{"negative max backoff", SamplerOptions{MaxBackoff: -1}, []Schedule{{Sensor: a, Interval: time.Second}}},
	}
	for _, tc := range tests {
		if _, err := NewSampler(tc.opts, tc.scheds); err == nil {
			t.Errorf("%s: NewSampler succeeded", tc.name)
		}
	}
	if _, err := NewSampler(SamplerOptions{}, nil); err != nil {
		t.Errorf("no schedules: %v", err)
	}
}

func TestRunSamplesStampsAndCloses(t *testing.T) {
	fast := &fakeSensor{name: "fast"}
	slow := &fakeSensor{name: "slow"}
	h := newHarness(t, SamplerOptions{},
		Schedule{Sensor: fast, Driver: "fake", Where: "bus 1", Interval: 10 * time.Millisecond},
		Schedule{Sensor: slow, Interval: time.Hour})
	h.start()
	// The slow sensor is read at once, not after an hour.
	b := h.next(t, "slow")
	if b.urgent || len(b.rs) != 1 || b.rs[0].Value != 1 || b.rs[0].Name() != "slow/q" || b.rs[0].Unit != "u" {
		t.Fatalf("first slow batch = %+v", b)
	}
	if r := b.rs[0]; !r.Time.Equal(fakeWall) || r.Boot != "boot-1" || r.Mono <= 0 {
		t.Fatalf("reading not stamped by the clock: %+v", r)
	}
	var vals []float64
	for len(vals) < 3 {
		vals = append(vals, h.next(t, "fast").rs[0].Value)
	}
	for i := 1; i < len(vals); i++ {
		if vals[i] != vals[i-1]+1 {
			t.Fatalf("fast values %v are not consecutive reads", vals)
		}
	}
	st := statusOf(t, h.s, "fast")
	if st.Driver != "fake" || st.Where != "bus 1" || st.Interval != 10*time.Millisecond || st.Reads < 3 || st.Failures != 0 ||
		!st.LastReading.Equal(fakeWall) || st.Next.IsZero() || st.Timeout != 10*time.Millisecond {
		t.Fatalf("status = %+v", st)
	}
	if st := statusOf(t, h.s, "slow"); st.Timeout != DefaultTimeout || st.Reads != 1 {
		t.Fatalf("slow status = %+v", st)
	}
	h.stop(t)
	if fast.closes.Load() != 1 || slow.closes.Load() != 1 {
		t.Fatalf("closes = %d, %d; want 1, 1", fast.closes.Load(), slow.closes.Load())
	}
	if err := h.s.Run(context.Background()); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second Run = %v", err)
	}
	if _, err := h.s.Read(context.Background(), "fast"); !errors.Is(err, ErrSamplerClosed) {
		t.Fatalf("Read after Run = %v, want ErrSamplerClosed", err)
	}
	if fast.overlap.Load() {
		t.Fatal("concurrent Read calls")
	}
}

func TestFailuresBackoffAndRecovery(t *testing.T) {
	f := &fakeSensor{name: "flaky", fn: func(_ context.Context, i int) ([]Value, error) {
		if i >= 2 && i <= 4 {
			return nil, errors.New("nack")
		}
		return []Value{{Quantity: "q", Value: float64(i)}}, nil
	}}
	h := newHarness(t, SamplerOptions{MaxBackoff: 40 * time.Millisecond},
		Schedule{Sensor: f, Driver: "drv", Where: "0x76", Interval: 5 * time.Millisecond})
	h.start()
	if v := h.next(t, "").rs[0].Value; v != 1 {
		t.Fatalf("first value %v", v)
	}
	// Reads 2-4 fail and are not reported; read 5 is.
	if v := h.next(t, "").rs[0].Value; v != 5 {
		t.Fatalf("value after failures %v, want 5 (failures must not reach OnReadings)", v)
	}
	st := statusOf(t, h.s, "flaky")
	h.stop(t)
	if st.Failures != 3 || st.ConsecutiveFailures != 0 || st.LastError != "" || st.Reads < 5 {
		t.Fatalf("status after recovery = %+v", st)
	}
	logs := h.logs.String()
	if n := strings.Count(logs, "sensor failing"); n != 1 {
		t.Fatalf("logged failing %d times, want once:\n%s", n, logs)
	}
	if n := strings.Count(logs, "sensor recovered"); n != 1 {
		t.Fatalf("logged recovery %d times, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs, `sensor \"flaky\" (drv at 0x76): error: nack`) {
		t.Fatalf("failure log does not name the sensor:\n%s", logs)
	}
}

func TestFailingStatusAndBackoffSchedule(t *testing.T) {
	f := &fakeSensor{name: "dead", fn: func(context.Context, int) ([]Value, error) {
		return nil, &Error{Kind: KindMissing, Err: errors.New("no ack")}
	}}
	h := newHarness(t, SamplerOptions{MaxBackoff: time.Hour}, Schedule{Sensor: f, Interval: 10 * time.Millisecond})
	h.s.minBackoff = 20 * time.Millisecond
	h.start()
	eventually(t, "two failures", func() bool { return statusOf(t, h.s, "dead").ConsecutiveFailures >= 2 })
	h.stop(t)
	st := statusOf(t, h.s, "dead")
	if !strings.Contains(st.LastError, "missing: no ack") || !strings.Contains(st.LastError, `"dead"`) {
		t.Fatalf("last error %q", st.LastError)
	}
	if st.Reads != uint64(st.ConsecutiveFailures) || st.Failures != st.Reads {
		t.Fatalf("status %+v", st)
	}
	// Each failure schedules the next try max(interval, minBackoff)
	// doubled per consecutive failure (jitter fixed at its midpoint).
	e := h.s.byName["dead"]
	e.consecutive = 0
	for n, want := range []time.Duration{20, 40, 80, 160} {
		before := time.Now()
		h.s.failed(e, errors.New("x"))
		after := time.Now()
		want *= time.Millisecond
		if e.next.Before(before.Add(want)) || e.next.After(after.Add(want)) {
			t.Fatalf("failure %d: next in %v, want %v", n+1, e.next.Sub(before), want)
		}
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		base, limit time.Duration
		n           int
		r           float64
		want        time.Duration
	}{
		{time.Second, 5 * time.Minute, 1, 0.5, time.Second},
		{time.Second, 5 * time.Minute, 2, 0.5, 2 * time.Second},
		{time.Second, 5 * time.Minute, 4, 0.5, 8 * time.Second},
		{time.Second, 5 * time.Minute, 9, 0.5, 256 * time.Second},
		{time.Second, 5 * time.Minute, 10, 0.5, 5 * time.Minute},
		{time.Second, 5 * time.Minute, 1000, 0.5, 5 * time.Minute},
		{time.Second, 5 * time.Minute, 1, 0, 800 * time.Millisecond},
		{time.Second, 5 * time.Minute, 1, 0.75, 1100 * time.Millisecond},
		{time.Second, 5 * time.Minute, 100, 0.99, 5 * time.Minute}, // jitter never exceeds the limit
		{10 * time.Minute, 5 * time.Minute, 3, 0.5, 10 * time.Minute},
	}
	for _, tc := range tests {
		if got := retryDelay(tc.base, tc.limit, tc.n, tc.r); got != tc.want {
			t.Errorf("retryDelay(%v, %v, %d, %v) = %v, want %v", tc.base, tc.limit, tc.n, tc.r, got, tc.want)
		}
	}
}

func TestPanicIsContained(t *testing.T) {
	bad := &fakeSensor{name: "bad", fn: func(context.Context, int) ([]Value, error) { panic("boom") }}
	good := &fakeSensor{name: "good"}
	h := newHarness(t, SamplerOptions{},
		Schedule{Sensor: bad, Driver: "drv", Interval: 10 * time.Millisecond},
		Schedule{Sensor: good, Interval: 10 * time.Millisecond})
	h.start()
	for range 3 {
		h.next(t, "good")
	}
	_, err := h.s.Read(context.Background(), "bad")
	h.stop(t)
	var se *Error
	if !errors.As(err, &se) || se.Kind != KindOther || se.Sensor != "bad" || se.Driver != "drv" || !strings.Contains(err.Error(), "panicked: boom") {
		t.Fatalf("Read of panicking sensor = %v", err)
	}
}

func TestStuckSensorIsIsolated(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	stuck := &fakeSensor{name: "stuck", fn: func(_ context.Context, i int) ([]Value, error) {
		if i == 1 {
			<-release // ignores ctx
		}
		return []Value{{Quantity: "q", Value: float64(i)}}, nil
	}}
	good := &fakeSensor{name: "good"}
	h := newHarness(t, SamplerOptions{},
		Schedule{Sensor: stuck, Driver: "drv", Where: "pin", Interval: 20 * time.Millisecond, Timeout: 5 * time.Millisecond},
		Schedule{Sensor: good, Interval: 10 * time.Millisecond})
	h.start()
	eventually(t, "stuck status", func() bool { return statusOf(t, h.s, "stuck").Stuck })
	for range 3 {
		h.next(t, "good")
	}
	_, err := h.s.Read(context.Background(), "stuck")
	var se *Error
	if !errors.As(err, &se) || se.Kind != KindTimeout || se.Sensor != "stuck" || se.Where != "pin" || !errors.Is(err, ErrTimeout) {
		t.Fatalf("Read while stuck = %v, want KindTimeout naming the sensor", err)
	}
	if n := stuck.reads.Load(); n != 1 {
		t.Fatalf("stuck sensor read %d times while its Read had not returned", n)
	}
	st := statusOf(t, h.s, "stuck")
	if st.Failures == 0 || !strings.Contains(st.LastError, "timeout") {
		t.Fatalf("status of stuck sensor %+v", st)
	}
	unblock()
	// Once the stuck Read has returned, the sensor is read again.
	if b := h.next(t, "stuck"); b.rs[0].Value < 2 {
		t.Fatalf("batch after release %+v", b)
	}
	eventually(t, "not stuck", func() bool { return !statusOf(t, h.s, "stuck").Stuck })
	h.stop(t)
	if stuck.overlap.Load() {
		t.Fatal("stuck sensor was read concurrently")
	}
}

func TestRunReturnsDespiteStuckRead(t *testing.T) {
	release := make(chan struct{})
	returned := make(chan struct{})
	stuck := &fakeSensor{name: "stuck", fn: func(context.Context, int) ([]Value, error) {
		<-release
		return nil, nil
	}}
	h := newHarness(t, SamplerOptions{}, Schedule{Sensor: stuck, Interval: time.Hour, Timeout: 5 * time.Millisecond})
	h.start()
	eventually(t, "read started", func() bool { return stuck.reads.Load() == 1 })
	h.stop(t) // returns after ShutdownGrace although Read never returned
	if stuck.closes.Load() != 1 {
		t.Fatalf("closes = %d", stuck.closes.Load())
	}
	go func() { defer close(returned); close(release) }()
	<-returned
	eventually(t, "read goroutine gone", func() bool { return stuck.inflight.Load() == 0 })
}

func TestTimeoutKinds(t *testing.T) {
	polite := &fakeSensor{name: "polite", fn: func(ctx context.Context, _ int) ([]Value, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	plain := &fakeSensor{name: "plain", fn: func(context.Context, int) ([]Value, error) {
		return nil, errors.New("crc mismatch")
	}}
	typed := &fakeSensor{name: "typed", fn: func(context.Context, int) ([]Value, error) {
		return nil, &Error{Kind: KindBadData, Where: "0x44", Err: errors.New("crc")}
	}}
	h := newHarness(t, SamplerOptions{},
		Schedule{Sensor: polite, Driver: "d1", Interval: time.Hour, Timeout: 5 * time.Millisecond},
		Schedule{Sensor: plain, Driver: "d2", Where: "w2", Interval: time.Hour},
		Schedule{Sensor: typed, Driver: "d3", Where: "w3", Interval: time.Hour})
	check := func(name string, kind Kind, driver, where string) {
		t.Helper()
		_, err := h.s.Read(context.Background(), name)
		var se *Error
		if !errors.As(err, &se) || se.Kind != kind || se.Sensor != name || se.Driver != driver || se.Where != where {
			t.Fatalf("Read(%s) = %#v, want kind %v driver %q where %q", name, err, kind, driver, where)
		}
	}
	// Read works before Run.
	check("polite", KindTimeout, "d1", "")
	check("plain", KindOther, "d2", "w2")
	check("typed", KindBadData, "d3", "0x44")
	if polite.closes.Load() != 0 {
		t.Fatal("closed before Run")
	}
	if _, err := h.s.Read(context.Background(), "nope"); !errors.Is(err, ErrUnknownSensor) {
		t.Fatalf("Read(unknown) = %v", err)
	}
}

func TestReadOnDemand(t *testing.T) {
	f := &fakeSensor{name: "s"}
	h := newHarness(t, SamplerOptions{}, Schedule{Sensor: f, Driver: "d", Interval: 2 * time.Millisecond})
	h.start()
	h.next(t, "s")
	var wg sync.WaitGroup
	var bad atomic.Value
	for range 4 {
		wg.Go(func() {
			for range 10 {
				rs, err := h.s.Read(context.Background(), "s")
				if err != nil || len(rs) != 1 || rs[0].Sensor != "s" || rs[0].Boot != "boot-1" || !rs[0].Time.Equal(fakeWall) {
					bad.Store(err)
				}
			}
		})
	}
	wg.Wait()
	h.stop(t)
	if v := bad.Load(); v != nil {
		t.Fatalf("on-demand read failed: %v", v)
	}
	if f.overlap.Load() {
		t.Fatal("on-demand reads overlapped periodic ones")
	}
	// Batches passed to OnReadings plus the 40 on-demand reads make up
	// every read; none of the on-demand ones reached OnReadings.
	periodic := 1 + len(h.got)
	if int(f.reads.Load()) != periodic+40 {
		t.Fatalf("reads %d, OnReadings batches %d: on-demand readings leaked into OnReadings", f.reads.Load(), periodic)
	}
	if st := statusOf(t, h.s, "s"); st.Reads != uint64(f.reads.Load()) {
		t.Fatalf("status reads %d, sensor reads %d", st.Reads, f.reads.Load())
	}
}

func TestReadCancelledWhileWaiting(t *testing.T) {
	release := make(chan struct{})
	f := &fakeSensor{name: "s", fn: func(ctx context.Context, _ int) ([]Value, error) {
		<-release
		return nil, nil
	}}
	h := newHarness(t, SamplerOptions{}, Schedule{Sensor: f, Interval: time.Hour, Timeout: time.Hour})
	go func() { _, _ = h.s.Read(context.Background(), "s") }()
	eventually(t, "first read", func() bool { return f.reads.Load() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := h.s.Read(ctx, "s")
	close(release)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Read waiting for a busy sensor = %v, want a timeout", err)
	}
	eventually(t, "read done", func() bool { return f.inflight.Load() == 0 })
	if f.reads.Load() != 1 {
		t.Fatalf("reads = %d", f.reads.Load())
	}
}

func TestSetInterval(t *testing.T) {
	f := &fakeSensor{name: "s"}
	h := newHarness(t, SamplerOptions{}, Schedule{Sensor: f, Interval: time.Hour})
	h.start()
	h.next(t, "s")
	if err := h.s.SetInterval("s", 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	st := statusOf(t, h.s, "s")
	if st.Interval != 10*time.Millisecond || time.Until(st.Next) > time.Second || st.Timeout != 10*time.Millisecond {
		t.Fatalf("status after SetInterval %+v", st)
	}
	h.next(t, "s")
	h.next(t, "s")
	if err := h.s.SetInterval("nope", time.Second); !errors.Is(err, ErrUnknownSensor) {
		t.Fatalf("SetInterval(unknown) = %v", err)
	}
	if err := h.s.SetInterval("s", 0); err == nil {
		t.Fatal("SetInterval(0) succeeded")
	}
	h.stop(t)
}

// fakeWatcher emits whatever is sent on events.
type fakeWatcher struct {
	fakeSensor
	events  chan []Value
	watches atomic.Int32
	fail    bool
}

func (w *fakeWatcher) Watch(ctx context.Context, emit func([]Value)) error {
	if w.watches.Add(1) == 1 && w.fail {
		panic("watch boom")
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case v := <-w.events:
			emit(v)
		}
	}
}

func TestWatcherEventsAreUrgent(t *testing.T) {
	w := &fakeWatcher{fakeSensor: fakeSensor{name: "door"}, events: make(chan []Value), fail: true}
	h := newHarness(t, SamplerOptions{}, Schedule{Sensor: w, Interval: time.Hour})
	h.start()
	if b := h.next(t, "door"); b.urgent {
		t.Fatal("periodic batch marked urgent")
	}
	// The first Watch panicked; it is restarted after a backoff.
	w.events <- []Value{{Quantity: "level", Value: 1}}
	b := h.next(t, "door")
	if !b.urgent || b.rs[0].Name() != "door/level" || b.rs[0].Value != 1 || b.rs[0].Boot != "boot-1" {
		t.Fatalf("event batch %+v", b)
	}
	h.stop(t)
	if w.watches.Load() != 2 || w.closes.Load() != 1 {
		t.Fatalf("watches %d closes %d", w.watches.Load(), w.closes.Load())
	}
	if st := statusOf(t, h.s, "door"); st.Events != 1 {
		t.Fatalf("events = %d", st.Events)
	}
	if !strings.Contains(h.logs.String(), "watch boom") {
		t.Fatalf("watch panic not logged:\n%s", h.logs.String())
	}
}

func TestProgress(t *testing.T) {
	f := &fakeSensor{name: "s"}
	h := newHarness(t, SamplerOptions{}, Schedule{Sensor: f, Interval: time.Hour})
	p0 := h.s.Progress()
	if p0.IsZero() {
		t.Fatal("zero progress before Run")
	}
	h.start()
	h.next(t, "s")
	eventually(t, "progress", func() bool { return h.s.Progress().After(p0) })
	h.stop(t)
}

func TestDefaultClock(t *testing.T) {
	got := make(chan []Reading, 1)
	s, err := NewSampler(SamplerOptions{OnReadings: func(rs []Reading, _ bool) {
		select {
		case got <- rs:
		default:
		}
	}}, []Schedule{{Sensor: &fakeSensor{name: "s"}, Interval: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := s.Read(context.Background(), "s")
	if err != nil || len(rs) != 1 || rs[0].Boot == "" || rs[0].Synced || rs[0].Time.IsZero() {
		t.Fatalf("Read with default clock = %+v, %v", rs, err)
	}
}

// OnRead sees every read with its duration and its error's kind.
func TestOnRead(t *testing.T) {
	type call struct {
		sensor string
		took   time.Duration
		err    error
	}
	calls := make(chan call, 10)
	fail := &fakeSensor{name: "bad", fn: func(context.Context, int) ([]Value, error) {
		return nil, &Error{Kind: KindMissing, Err: errors.New("nack")}
	}}
	good := &fakeSensor{name: "good", fn: func(context.Context, int) ([]Value, error) {
		time.Sleep(2 * time.Millisecond)
		return []Value{{Quantity: "t", Unit: "Cel", Value: 1}}, nil
	}}
	h := newHarness(t, SamplerOptions{OnRead: func(s string, d time.Duration, err error) { calls <- call{s, d, err} }},
		Schedule{Sensor: fail, Interval: time.Hour}, Schedule{Sensor: good, Interval: time.Hour})
	if _, err := h.s.Read(context.Background(), "good"); err != nil {
		t.Fatal(err)
	}
	if c := <-calls; c.sensor != "good" || c.err != nil || c.took < 2*time.Millisecond {
		t.Errorf("good read: %+v", c)
	}
	if _, err := h.s.Read(context.Background(), "bad"); err == nil {
		t.Fatal("bad read succeeded")
	}
	var se *Error
	if c := <-calls; c.sensor != "bad" || !errors.As(c.err, &se) || se.Kind != KindMissing {
		t.Errorf("bad read: %+v", c)
	}
}
