package socketio

import (
	"testing"
	"time"
)

// TestBackoffMatchesReference sweeps the random number over [0,1) and checks
// the delay range of each attempt. Below the cap the delays are the
// reference client's backo2 exactly (its ranges, found by the same sweep in
// node: 551–1499, 1101–2999, 2201–5000, 4401–5000, then always 5000 ms). Where the reference would wait
// the cap itself, sioagent spreads the delay over [cap·(1−0.5), cap] so a
// fleet does not reconnect in lockstep.
func TestBackoffMatchesReference(t *testing.T) {
	want := []struct{ lo, hi time.Duration }{
		{551 * time.Millisecond, 1499 * time.Millisecond},
		{1101 * time.Millisecond, 2999 * time.Millisecond},
		{2201 * time.Millisecond, 4799 * time.Millisecond}, // capped draws spread to 2501–3750
		{2501 * time.Millisecond, 5000 * time.Millisecond},
		{2501 * time.Millisecond, 5000 * time.Millisecond},
		{2501 * time.Millisecond, 5000 * time.Millisecond},
	}
	for attempt, w := range want {
		lo, hi := time.Duration(1<<62), time.Duration(0)
		for i := range 100_000 {
			r := float64(i) / 100_000
			b := newBackoff(&Options{})
			b.Rand = func() float64 { return r }
			d := b.Delay(attempt)
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo != w.lo || hi != w.hi {
			t.Errorf("attempt %d: delays %v..%v, want %v..%v", attempt+1, lo, hi, w.lo, w.hi)
		}
	}
}

func TestBackoffNeverOverflowsAndResets(t *testing.T) {
	b := newBackoff(&Options{ReconnectDelay: time.Hour, ReconnectDelayMax: 2 * time.Hour})
	for range 200 {
		if d := b.Next(); d <= 0 || d > 2*time.Hour {
			t.Fatalf("attempt %d: delay %v", b.Attempts(), d)
		}
	}
	b.Reset()
	b.Rand = func() float64 { return 0 } // no deviation
	if d := b.Next(); d != time.Hour {
		t.Fatalf("after reset: %v, want the first delay", d)
	}
}

func TestBackoffOptions(t *testing.T) {
	b := newBackoff(&Options{ReconnectDelay: 100 * time.Millisecond, ReconnectDelayMax: 50 * time.Millisecond, RandomizationFactor: -1})
	if b.Max != b.Base || b.Jitter != 0 {
		t.Fatalf("got %+v", b)
	}
	if d := b.Next(); d != 100*time.Millisecond {
		t.Fatalf("delay %v", d)
	}
}
