package sim_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/sensors/sim"
)

func readN(t *testing.T, s *sim.Sensor, n int) []float64 {
	t.Helper()
	out := make([]float64, 0, n)
	for range n {
		vs, err := s.Read(context.Background())
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if len(vs) != 1 {
			t.Fatalf("Read returned %d values, want 1", len(vs))
		}
		out = append(out, vs[0].Value)
	}
	return out
}

func mustNew(t *testing.T, o sim.Options) *sim.Sensor {
	t.Helper()
	s, err := sim.New(o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	return s
}

func TestCounter(t *testing.T) {
	s := mustNew(t, sim.Options{Name: "c", Signal: sim.SignalCounter})
	got := readN(t, s, 4)
	want := []float64{1, 2, 3, 4}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("counter = %v, want %v", got, want)
		}
	}
}

func TestDefaultsAndLabels(t *testing.T) {
	s := mustNew(t, sim.Options{Name: "x", Signal: sim.SignalConstant, Offset: 21.5, Unit: "Cel"})
	vs, err := s.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := sensors.Value{Quantity: "value", Unit: "Cel", Value: 21.5}
	if len(vs) != 1 || vs[0] != want {
		t.Fatalf("Read = %+v, want [%+v]", vs, want)
	}
	if s.Name() != "x" {
		t.Fatalf("Name = %q", s.Name())
	}
}

func TestSine(t *testing.T) {
	s := mustNew(t, sim.Options{Name: "s", Signal: sim.SignalSine, Period: 4, Amplitude: 2, Offset: 10})
	got := readN(t, s, 5)
	want := []float64{10, 12, 10, 8, 10}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-9 {
			t.Fatalf("sine = %v, want %v", got, want)
		}
	}
	d := mustNew(t, sim.Options{Name: "d", Signal: sim.SignalSine, Amplitude: 1})
	got = readN(t, d, 16)
	if math.Abs(got[15]-1) > 1e-9 { // default period 60: a quarter is 15 readings
		t.Fatalf("default-period sine at 15 = %v, want 1", got[15])
	}
}

func TestRandomWalkDeterministicAndClamped(t *testing.T) {
	o := sim.Options{Name: "w", Signal: sim.SignalRandomWalk, Seed: 42, Offset: 5, Step: 0.5, Min: 4, Max: 6}
	a := readN(t, mustNew(t, o), 200)
	b := readN(t, mustNew(t, o), 200)
	o.Seed = 43
	c := readN(t, mustNew(t, o), 200)
	if a[0] != 5 {
		t.Fatalf("first value %v, want the offset 5", a[0])
	}
	same := true
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed differs at %d: %v vs %v", i, a[i], b[i])
		}
		if a[i] < 4 || a[i] > 6 {
			t.Fatalf("value %v at %d outside [4,6]", a[i], i)
		}
		if i > 0 {
			if d := math.Abs(a[i] - a[i-1]); d != 0.5 && d != 0 {
				t.Fatalf("step %v at %d, want 0.5 (or 0 at a bound)", d, i)
			}
		}
		same = same && a[i] == c[i]
	}
	if same {
		t.Fatal("different seeds gave the same 200 values")
	}
}

func TestFailEvery(t *testing.T) {
	s := mustNew(t, sim.Options{Name: "f", Signal: sim.SignalCounter, FailEvery: 3})
	var got []float64
	for i := 1; i <= 7; i++ {
		vs, err := s.Read(context.Background())
		if i%3 == 0 {
			var se *sensors.Error
			if !errors.As(err, &se) || se.Kind != sensors.KindBadData || se.Sensor != "f" || !errors.Is(err, sensors.ErrBadData) {
				t.Fatalf("read %d: err = %v, want KindBadData *sensors.Error naming f", i, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		got = append(got, vs[0].Value)
	}
	want := []float64{1, 2, 3, 4, 5}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("values around failures = %v, want %v (a failure must not advance the signal)", got, want)
	}
}

func TestReadAfterCloseAndCancelled(t *testing.T) {
	s := mustNew(t, sim.Options{Name: "z", Signal: sim.SignalConstant})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Read(ctx); err == nil {
		t.Fatal("Read with a cancelled ctx succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(context.Background()); !errors.Is(err, sim.ErrClosed) {
		t.Fatalf("Read after Close: %v, want ErrClosed", err)
	}
}

func TestNewErrors(t *testing.T) {
	for _, o := range []sim.Options{
		{},
		{Name: "a", Signal: "square"},
		{Name: "a", Period: -1},
		{Name: "a", FailEvery: -2},
		{Name: "a", Signal: sim.SignalRandomWalk, Min: 3, Max: 1},
	} {
		if _, err := sim.New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
}

func TestNewDoesNotMutateOptions(t *testing.T) {
	o := sim.Options{Name: "a"}
	mustNew(t, o)
	if o != (sim.Options{Name: "a"}) {
		t.Fatalf("options mutated: %+v", o)
	}
}

func ExampleNew() {
	s, err := sim.New(sim.Options{Name: "demo", Signal: sim.SignalCounter, Quantity: "count"})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	for range 3 {
		vs, _ := s.Read(context.Background())
		fmt.Println(vs[0].Quantity, vs[0].Value)
	}
	// Output:
	// count 1
	// count 2
	// count 3
}
