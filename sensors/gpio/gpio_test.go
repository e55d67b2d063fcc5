package gpio

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/goleak"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/sioagent/sioagent/sensors"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitLimit = 10 * time.Second

func newPin() *gpiotest.Pin {
	return &gpiotest.Pin{N: "GPIO17", Num: 17, EdgesChan: make(chan gpio.Level), Clock: clockwork.NewRealClock()}
}

// watching runs in.Watch and collects what it emits.
type watching struct {
	got    chan float64
	cancel context.CancelFunc
	done   chan error
}

func startWatch(in *Input) *watching {
	ctx, cancel := context.WithCancel(context.Background())
	w := &watching{got: make(chan float64, 100), cancel: cancel, done: make(chan error, 1)}
	go func() {
		w.done <- in.Watch(ctx, func(vs []sensors.Value) {
			if len(vs) != 1 || vs[0].Quantity != QuantityLevel {
				panic(fmt.Sprintf("emitted %+v", vs))
			}
			w.got <- vs[0].Value
		})
	}()
	return w
}

// stop ends Watch and returns everything it emitted.
func (w *watching) stop(t *testing.T) []float64 {
	t.Helper()
	w.cancel()
	select {
	case err := <-w.done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Watch = %v, want context.Canceled", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Watch did not return")
	}
	close(w.got)
	var out []float64
	for v := range w.got {
		out = append(out, v)
	}
	return out
}

func (w *watching) next(t *testing.T) float64 {
	t.Helper()
	select {
	case v := <-w.got:
		return v
	case <-time.After(waitLimit):
		t.Fatal("nothing emitted")
		return 0
	}
}

func readOne(t *testing.T, s sensors.Sensor) []sensors.Value {
	t.Helper()
	vs, err := s.Read(context.Background())
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return vs
}

func TestLevelRead(t *testing.T) {
	for _, tc := range []struct {
		pull      gpio.Pull
		activeLow bool
		want      float64
	}{
		{gpio.PullUp, false, 1},
		{gpio.PullUp, true, 0},
		{gpio.PullDown, false, 0},
		{gpio.PullDown, true, 1},
	} {
		p := newPin()
		in, err := NewInput(p, InputOptions{Name: "btn", Pull: tc.pull, ActiveLow: tc.activeLow})
		if err != nil {
			t.Fatal(err)
		}
		vs := readOne(t, in)
		if len(vs) != 1 || vs[0] != (sensors.Value{Quantity: "level", Value: tc.want}) {
			t.Errorf("pull %s activeLow %t: Read = %+v, want level %v", tc.pull, tc.activeLow, vs, tc.want)
		}
		if p.P != tc.pull || in.Pin() != "GPIO17" || in.Name() != "btn" {
			t.Errorf("pin pull %s, Pin %q", p.P, in.Pin())
		}
	}
}

func TestLevelWatchEveryEdge(t *testing.T) {
	p := newPin()
	in, err := NewInput(p, InputOptions{Name: "door", Pull: gpio.PullDown})
	if err != nil {
		t.Fatal(err)
	}
	in.edgeWait = 10 * time.Millisecond
	w := startWatch(in)
	p.EdgesChan <- gpio.High
	if v := w.next(t); v != 1 {
		t.Fatalf("first change %v, want 1", v)
	}
	p.EdgesChan <- gpio.High // no change of level: nothing emitted
	p.EdgesChan <- gpio.Low
	if v := w.next(t); v != 0 {
		t.Fatalf("second change %v, want 0", v)
	}
	if rest := w.stop(t); len(rest) != 0 {
		t.Fatalf("extra emissions %v", rest)
	}
}

func TestLevelWatchActiveLow(t *testing.T) {
	p := newPin()
	in, err := NewInput(p, InputOptions{Name: "door", Pull: gpio.PullUp, ActiveLow: true})
	if err != nil {
		t.Fatal(err)
	}
	in.edgeWait = 10 * time.Millisecond
	w := startWatch(in)
	p.EdgesChan <- gpio.Low
	if v := w.next(t); v != 1 {
		t.Fatalf("active-low change to Low emitted %v, want 1", v)
	}
	w.stop(t)
}

func TestLevelWatchDebounce(t *testing.T) {
	p := newPin()
	in, err := NewInput(p, InputOptions{Name: "btn", Pull: gpio.PullDown, Debounce: time.Second}) // long: a stalled test goroutine must not look like a settled level
	if err != nil {
		t.Fatal(err)
	}
	in.edgeWait = 20 * time.Millisecond
	w := startWatch(in)
	// A bounce that settles back Low is no change at all.
	p.EdgesChan <- gpio.High
	p.EdgesChan <- gpio.Low
	// A press that bounces and settles High is one change.
	p.EdgesChan <- gpio.High
	p.EdgesChan <- gpio.Low
	p.EdgesChan <- gpio.High
	if v := w.next(t); v != 1 {
		t.Fatalf("debounced press emitted %v, want 1", v)
	}
	p.EdgesChan <- gpio.Low
	p.EdgesChan <- gpio.High
	p.EdgesChan <- gpio.Low
	if v := w.next(t); v != 0 {
		t.Fatalf("debounced release emitted %v, want 0", v)
	}
	if rest := w.stop(t); len(rest) != 0 {
		t.Fatalf("bounces leaked through: extra emissions %v", rest)
	}
}

// scriptedNow returns the given offsets from base, one per call, then
// repeats the last.
func scriptedNow(base time.Time, offsets ...time.Duration) func() time.Time {
	var mu sync.Mutex
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		d := offsets[0]
		if len(offsets) > 1 {
			offsets = offsets[1:]
		}
		return base.Add(d)
	}
}

func TestCounter(t *testing.T) {
	ms := time.Millisecond
	p := newPin()
	in, err := NewInput(p, InputOptions{Name: "rain", Pull: gpio.PullUp, Mode: ModeCounter, ActiveLow: true,
		Debounce: 50 * ms, Scale: 0.0002794, Unit: "m"})
	if err != nil {
		t.Fatal(err)
	}
	in.edgeWait = 10 * time.Millisecond
	// Five edges at 0, 10, 60, 70 and 200 ms: the lock-out drops 10 and 70.
	// Then the first Read at 2 s and the second at 4 s.
	in.now = scriptedNow(in.epoch, 0, 10*ms, 60*ms, 70*ms, 200*ms, 2*time.Second, 4*time.Second)
	w := startWatch(in)
	for _, l := range []gpio.Level{gpio.Low, gpio.High, gpio.Low, gpio.High, gpio.Low} {
		p.EdgesChan <- l
	}
	deadline := time.Now().Add(waitLimit)
	for in.Count() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if rest := w.stop(t); len(rest) != 0 {
		t.Fatalf("counter Watch emitted %v", rest)
	}
	if in.Count() != 3 {
		t.Fatalf("count %d, want 3", in.Count())
	}
	vs := readOne(t, in)
	want := []sensors.Value{{Quantity: "count", Unit: "m", Value: 3 * 0.0002794}, {Quantity: "rate", Unit: "m/s", Value: 3 * 0.0002794 / 2}}
	if !approxEqual(vs, want) {
		t.Fatalf("Read = %+v, want %+v", vs, want)
	}
	vs = readOne(t, in)
	want[1].Value = 0 // no pulses since the previous Read
	if !approxEqual(vs, want) {
		t.Fatalf("second Read = %+v, want %+v", vs, want)
	}
	if p.P != gpio.PullUp {
		t.Fatalf("pull %s", p.P)
	}
}

func TestCounterUnscaled(t *testing.T) {
	p := newPin()
	in, err := NewInput(p, InputOptions{Name: "flow", Mode: ModeCounter})
	if err != nil {
		t.Fatal(err)
	}
	in.edgeWait = 10 * time.Millisecond
	in.now = scriptedNow(in.epoch, time.Second)
	w := startWatch(in)
	p.EdgesChan <- gpio.High
	p.EdgesChan <- gpio.Low
	p.EdgesChan <- gpio.High
	w.stop(t)
	vs := readOne(t, in)
	want := []sensors.Value{{Quantity: "count", Unit: "count", Value: 3}, {Quantity: "rate", Unit: "1/s", Value: 3}}
	if !approxEqual(vs, want) {
		t.Fatalf("Read = %+v, want %+v", vs, want)
	}
}

// TestCounterUnits checks the units of a counter's total and rate: "count"
// and "1/s" (SenML has no "/s") unless a unit is set.
func TestCounterUnits(t *testing.T) {
	tests := []struct{ unit, wantCount, wantRate string }{
		{"", "count", "1/s"},
		{"count", "count", "1/s"},
		{"m", "m", "m/s"},
		{"m3", "m3", "m3/s"},
	}
	for _, tt := range tests {
		in, err := NewInput(newPin(), InputOptions{Name: "c", Mode: ModeCounter, Unit: tt.unit})
		if err != nil {
			t.Fatal(err)
		}
		in.now = scriptedNow(in.epoch, time.Second)
		vs := readOne(t, in)
		if len(vs) != 2 || vs[0].Unit != tt.wantCount || vs[1].Unit != tt.wantRate {
			t.Errorf("unit %q: Read = %+v, want units %q and %q", tt.unit, vs, tt.wantCount, tt.wantRate)
		}
	}
	if UnitPerSecond != "1/s" {
		t.Errorf("UnitPerSecond = %q, want the SenML event rate \"1/s\"", UnitPerSecond)
	}
}

func approxEqual(a, b []sensors.Value) bool {
	return slices.EqualFunc(a, b, func(x, y sensors.Value) bool {
		return x.Quantity == y.Quantity && x.Unit == y.Unit && math.Abs(x.Value-y.Value) < 1e-9
	})
}

func TestDefaultEdges(t *testing.T) {
	for _, tc := range []struct {
		o    InputOptions
		want gpio.Edge
	}{
		{InputOptions{}, gpio.BothEdges},
		{InputOptions{Mode: ModeCounter}, gpio.RisingEdge},
		{InputOptions{Mode: ModeCounter, ActiveLow: true}, gpio.FallingEdge},
	} {
		if got := defaultEdge(withMode(tc.o)); got != tc.want {
			t.Errorf("defaultEdge(%+v) = %s, want %s", tc.o, got, tc.want)
		}
	}
}

func withMode(o InputOptions) InputOptions {
	if o.Mode == "" {
		o.Mode = ModeLevel
	}
	return o
}

func TestInputErrors(t *testing.T) {
	_, err := NewInput(nil, InputOptions{Name: "x"})
	var se *sensors.Error
	if !errors.As(err, &se) || se.Kind != sensors.KindMissing || se.Sensor != "x" || !errors.Is(err, sensors.ErrMissing) {
		t.Fatalf("nil pin: %v", err)
	}
	if _, err := NewInput(newPin(), InputOptions{}); err == nil {
		t.Fatal("empty name accepted")
	}
	if _, err := NewInput(newPin(), InputOptions{Name: "x", Mode: "pwm"}); err == nil {
		t.Fatal("bad mode accepted")
	}
	if _, err := NewInput(newPin(), InputOptions{Name: "x", Debounce: -1}); err == nil {
		t.Fatal("negative debounce accepted")
	}
	// gpiotest refuses edge detection without an edge channel.
	_, err = NewInput(&gpiotest.Pin{N: "GPIO4"}, InputOptions{Name: "x"})
	if !errors.As(err, &se) || se.Where != "GPIO4" || se.Sensor != "x" || se.Driver != Driver {
		t.Fatalf("In failure: %v", err)
	}
	in, err := NewInput(newPin(), InputOptions{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if err := in.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := in.Read(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	if err := in.Watch(context.Background(), func([]sensors.Value) {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Watch after Close: %v", err)
	}
}

func TestOutput(t *testing.T) {
	p := newPin()
	out, err := NewOutput(p, OutputOptions{Name: "relay", Initial: true, Safe: false, ActiveLow: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.L != gpio.Low || !out.Get() || out.Pin() != "GPIO17" || out.Name() != "relay" {
		t.Fatalf("after New: pin %s, Get %t", p.L, out.Get())
	}
	if vs := readOne(t, out); len(vs) != 1 || vs[0] != (sensors.Value{Quantity: "state", Value: 1}) {
		t.Fatalf("Read = %+v", vs)
	}
	if err := out.Set(false); err != nil {
		t.Fatal(err)
	}
	if p.L != gpio.High || out.Get() {
		t.Fatalf("after Set(false): pin %s, Get %t", p.L, out.Get())
	}
	if vs := readOne(t, out); vs[0].Value != 0 {
		t.Fatalf("Read = %+v", vs)
	}
	if err := out.Set(true); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if p.L != gpio.High || out.Get() {
		t.Fatalf("Close did not drive the safe state: pin %s", p.L)
	}
	if err := out.Set(true); !errors.Is(err, ErrClosed) || p.L != gpio.High {
		t.Fatalf("Set after Close: %v, pin %s", err, p.L)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}

	p2 := newPin()
	p2.L = gpio.High
	if _, err := NewOutput(p2, OutputOptions{Name: "led"}); err != nil || p2.L != gpio.Low {
		t.Fatalf("Initial false not driven: %v, pin %s", err, p2.L)
	}
	_, err = NewOutput(nil, OutputOptions{Name: "led"})
	if !errors.Is(err, sensors.ErrMissing) {
		t.Fatalf("nil pin: %v", err)
	}
}

func ExampleNewOutput() {
	pin := &gpiotest.Pin{N: "GPIO27", Num: 27}
	relay, err := NewOutput(pin, OutputOptions{Name: "pump", Initial: false, Safe: false})
	if err != nil {
		panic(err)
	}
	_ = relay.Set(true)
	fmt.Println(relay.Pin(), pin.Read(), relay.Get())
	_ = relay.Close()
	fmt.Println(pin.Read())
	// Output:
	// GPIO27 High true
	// Low
}

func ExampleNewInput() {
	pin := &gpiotest.Pin{N: "GPIO17", Num: 17, EdgesChan: make(chan gpio.Level)}
	button, err := NewInput(pin, InputOptions{Name: "button", Pull: gpio.PullUp, ActiveLow: true})
	if err != nil {
		panic(err)
	}
	defer button.Close()
	vs, _ := button.Read(context.Background())
	fmt.Println(vs[0].Quantity, vs[0].Value) // pulled up, not pressed
	// Output: level 0
}
