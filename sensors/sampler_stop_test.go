package sensors

import (
	"context"
	"testing"
	"time"
)

// A periodic read that returns its values after Run's context was
// cancelled (it finished during the shutdown) hands them to OnReadings
// before Run returns: they were taken, and the agent stores them.
func TestReadFinishedDuringShutdownIsPassed(t *testing.T) {
	entered := make(chan struct{})
	s := &fakeSensor{name: "slow", fn: func(ctx context.Context, i int) ([]Value, error) {
		if i > 1 {
			return nil, ctx.Err()
		}
		close(entered)
		<-ctx.Done()                                               // the read is under way when the stop begins...
		return []Value{{Quantity: "q", Unit: "u", Value: 42}}, nil // ...and finishes anyway
	}}
	h := newHarness(t, SamplerOptions{}, Schedule{Sensor: s, Interval: time.Hour, Timeout: time.Hour})
	h.start()
	<-entered
	h.stop(t)
	select {
	case b := <-h.got:
		if len(b.rs) != 1 || b.rs[0].Value != 42 || b.urgent {
			t.Fatalf("OnReadings got %+v, want the one reading of value 42", b)
		}
	default:
		t.Fatal("the reading finished during the shutdown was not passed to OnReadings before Run returned")
	}
	if st := h.s.Status()[0]; st.Failures != 0 {
		t.Errorf("the read counted as failed: %+v", st)
	}
}
