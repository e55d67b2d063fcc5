package sensors

import (
	"context"
	"errors"
	"fmt"
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

// deafWatchers is how many watchers that ignore shutdown
// TestShutdownGraceCoversEveryWait runs: enough that a grace per wait
// (deafWatchers x ShutdownGrace) is far beyond the bound it checks.
const deafWatchers = 4

// shutdownBound is the longest TestShutdownGraceCoversEveryWait lets Run
// take after its context is done: one ShutdownGrace for every wait plus as
// much again for scheduling on a loaded machine; a grace per watcher would
// take deafWatchers times ShutdownGrace.
const shutdownBound = 2 * ShutdownGrace

// Several watchers that ignore shutdown, and a read that never returns: Run
// still returns after about ShutdownGrace (the grace is one deadline for
// every wait, not a timer whose single tick the first wait consumes, nor a
// fresh timer per wait), and every sensor is closed.
func TestShutdownGraceCoversEveryWait(t *testing.T) {
	release := make(chan struct{})
	var scheds []Schedule
	var all []*fakeSensor
	for i := range deafWatchers {
		w := &deafWatcher{fakeSensor: fakeSensor{name: fmt.Sprintf("deaf%d", i)}, release: release}
		scheds = append(scheds, Schedule{Sensor: w, Interval: time.Hour})
		all = append(all, &w.fakeSensor)
	}
	stuck := &fakeSensor{name: "stuck", fn: func(context.Context, int) ([]Value, error) {
		<-release
		return nil, nil
	}}
	scheds = append(scheds, Schedule{Sensor: stuck, Interval: time.Hour, Timeout: 5 * time.Millisecond})
	all = append(all, stuck)
	h := newHarness(t, SamplerOptions{}, scheds...)
	h.start()
	eventually(t, "reads started", func() bool {
		for _, s := range all {
			if s.reads.Load() != 1 {
				return false
			}
		}
		return true
	})
	start := time.Now()
	h.stop(t)
	took := time.Since(start)
	if took > shutdownBound {
		t.Errorf("Run took %s to return with %d deaf watchers (grace %s, bound %s): a grace per wait?", took, deafWatchers, ShutdownGrace, shutdownBound)
	}
	if took < ShutdownGrace {
		t.Errorf("Run returned after %s, before the grace (%s) ended, with every watcher still running", took, ShutdownGrace)
	}
	for _, s := range all {
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
