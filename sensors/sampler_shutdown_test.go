package sensors

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// deafWatcher is a Watcher whose Watch ignores its context until release
// is closed.
type deafWatcher struct {
	fakeSensor
	release chan struct{}
}

func (w *deafWatcher) Watch(context.Context, func([]Value)) error {
	<-w.release
	return nil
}

// Two watchers that ignore shutdown, and a read that never returns: Run
// still returns after about ShutdownGrace (the grace is one deadline for
// every wait, not a timer whose single tick the first wait consumes), and
// every sensor is closed.
func TestShutdownGraceCoversEveryWait(t *testing.T) {
	release := make(chan struct{})
	a := &deafWatcher{fakeSensor: fakeSensor{name: "a"}, release: release}
	b := &deafWatcher{fakeSensor: fakeSensor{name: "b"}, release: release}
	stuck := &fakeSensor{name: "stuck", fn: func(context.Context, int) ([]Value, error) {
		<-release
		return nil, nil
	}}
	h := newHarness(t, SamplerOptions{},
		Schedule{Sensor: a, Interval: time.Hour}, Schedule{Sensor: b, Interval: time.Hour},
		Schedule{Sensor: stuck, Interval: time.Hour, Timeout: 5 * time.Millisecond})
	h.start()
	eventually(t, "reads started", func() bool { return stuck.reads.Load() == 1 && a.reads.Load() == 1 && b.reads.Load() == 1 })
	start := time.Now()
	h.stop(t)
	if took := time.Since(start); took > ShutdownGrace+2*time.Second {
		t.Errorf("Run took %s to return (grace %s)", took, ShutdownGrace)
	}
	for _, s := range []*fakeSensor{&a.fakeSensor, &b.fakeSensor, stuck} {
		if s.closes.Load() != 1 {
			t.Errorf("sensor %s closed %d times", s.name, s.closes.Load())
		}
	}
	close(release)
	eventually(t, "read goroutine gone", func() bool { return stuck.inflight.Load() == 0 })
}

// panicCloser panics in Close.
type panicCloser struct{ fakeSensor }

func (p *panicCloser) Close() error { panic("close boom") }

// A driver whose Close panics does not keep the other sensors from being
// closed (an output after it must still reach its safe state).
func TestPanickingCloseIsContained(t *testing.T) {
	bad := &panicCloser{fakeSensor{name: "bad"}}
	good := &fakeSensor{name: "good"}
	h := newHarness(t, SamplerOptions{}, Schedule{Sensor: bad, Interval: time.Hour}, Schedule{Sensor: good, Interval: time.Hour})
	h.start()
	eventually(t, "reads", func() bool { return bad.reads.Load() == 1 && good.reads.Load() == 1 })
	h.stop(t)
	if good.closes.Load() != 1 {
		t.Fatalf("the sensor after a panicking Close was closed %d times", good.closes.Load())
	}
	if !strings.Contains(h.logs.String(), "close boom") {
		t.Errorf("the panic was not logged:\n%s", h.logs.String())
	}
}

// A NaN or infinite value is bad data from that sensor: the read fails
// (counted, retried) instead of reaching OnReadings, where it would make
// the whole batch unsendable.
func TestNonFiniteValuesAreBadData(t *testing.T) {
	bad := &fakeSensor{name: "nan", fn: func(_ context.Context, i int) ([]Value, error) {
		v := math.NaN()
		if i%2 == 0 {
			v = math.Inf(1)
		}
		return []Value{{Quantity: "ok", Value: 1}, {Quantity: "q", Value: v}}, nil
	}}
	h := newHarness(t, SamplerOptions{}, Schedule{Sensor: bad, Interval: time.Hour})
	h.start()
	defer h.stop(t)
	_, err := h.s.Read(context.Background(), "nan")
	var se *Error
	if !errors.As(err, &se) || se.Kind != KindBadData || !strings.Contains(err.Error(), "q is") {
		t.Fatalf("Read = %v, want bad data naming the quantity", err)
	}
	eventually(t, "periodic failure counted", func() bool { return statusOf(t, h.s, "nan").Failures >= 1 })
	select {
	case b := <-h.got:
		t.Fatalf("non-finite readings reached OnReadings: %+v", b)
	default:
	}
}

// infWatcher emits one event with an infinite value, then one good event.
type infWatcher struct {
	fakeSensor
	sent chan struct{}
}

func (w *infWatcher) Watch(ctx context.Context, emit func([]Value)) error {
	emit([]Value{{Quantity: "level", Value: math.Inf(-1)}})
	emit([]Value{{Quantity: "level", Value: 1}})
	close(w.sent)
	<-ctx.Done()
	return ctx.Err()
}

func TestNonFiniteEventsAreDropped(t *testing.T) {
	w := &infWatcher{fakeSensor: fakeSensor{name: "edge"}, sent: make(chan struct{})}
	h := newHarness(t, SamplerOptions{}, Schedule{Sensor: w, Interval: time.Hour})
	h.start()
	<-w.sent
	h.stop(t)
	var urgent []batch
	for len(h.got) > 0 {
		if b := <-h.got; b.urgent {
			urgent = append(urgent, b)
		}
	}
	if len(urgent) != 1 || urgent[0].rs[0].Value != 1 {
		t.Fatalf("urgent batches %+v, want only the finite event", urgent)
	}
}
