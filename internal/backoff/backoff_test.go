package backoff

import (
	"testing"
	"time"
)

// fixed returns a Rand that always draws r.
func fixed(r float64) func() float64 { return func() float64 { return r } }

func TestProportionalGrowsToTheCap(t *testing.T) {
	b := Backoff{Base: time.Second, Max: 10 * time.Second, Jitter: 0.2, Rand: fixed(0.5)}
	for i, want := range []time.Duration{1, 2, 4, 8, 10, 10} {
		if got := b.Next(); got != want*time.Second {
			t.Errorf("attempt %d: %v, want %v", i, got, want*time.Second)
		}
	}
	if b.Attempts() != 6 {
		t.Errorf("Attempts = %d, want 6", b.Attempts())
	}
	b.Reset()
	if got := b.Next(); got != time.Second {
		t.Errorf("after Reset: %v, want the base", got)
	}
}

// The jitter spreads a delay evenly by ±Jitter, and never past Max.
func TestProportionalJitterBounds(t *testing.T) {
	b := Backoff{Base: time.Second, Max: 4 * time.Second, Jitter: 0.5}
	lo, hi := time.Duration(1<<62), time.Duration(0)
	for i := range 1000 {
		b.Rand = fixed(float64(i) / 1000)
		d := b.Delay(0)
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo != 500*time.Millisecond || hi != 1499*time.Millisecond {
		t.Errorf("first delay spread over %v..%v, want 500ms..1.499s", lo, hi)
	}
	b.Rand = fixed(0.999)
	if d := b.Delay(2); d != 4*time.Second {
		t.Errorf("at the cap with the highest draw: %v, want the cap", d)
	}
	b.Rand = fixed(0)
	if d := b.Delay(2); d != 2*time.Second {
		t.Errorf("at the cap with the lowest draw: %v, want half of it", d)
	}
}

func TestProportionalEdges(t *testing.T) {
	b := Backoff{Base: 10 * time.Minute, Max: 5 * time.Minute}
	if d := b.Delay(3); d != 10*time.Minute {
		t.Errorf("Max below Base: %v, want Base", d)
	}
	b = Backoff{Base: time.Hour, Max: 2 * time.Hour, Jitter: 1, Factor: 10}
	for _, n := range []int{0, 1, 62, 100_000, -5} {
		if d := b.Delay(n); d < 0 || d > 2*time.Hour {
			t.Errorf("attempt %d: %v out of [0, Max]", n, d)
		}
	}
	b = Backoff{Base: time.Second, Max: time.Hour, Factor: 3}
	if d := b.Delay(2); d != 9*time.Second {
		t.Errorf("factor 3, third attempt: %v, want 9s", d)
	}
	b = Backoff{Base: time.Second, Max: time.Hour, Factor: 0.5, Jitter: -1}
	if d := b.Delay(1); d != 2*time.Second {
		t.Errorf("factor below 1 and negative jitter: %v, want a doubling without jitter", d)
	}
}

// Without Rand the draws come from math/rand: delays differ but stay in
// their range.
func TestDefaultRand(t *testing.T) {
	b := Backoff{Base: time.Second, Max: time.Minute, Jitter: 0.5}
	seen := map[time.Duration]bool{}
	for range 100 {
		d := b.Delay(0)
		if d < 500*time.Millisecond || d >= 1500*time.Millisecond {
			t.Fatalf("delay %v out of ±50%% of 1s", d)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Error("100 draws gave one delay: no jitter")
	}
}

// The Reference rule in whole milliseconds: the draw's tenth digit picks
// the direction, and at the cap a second draw spreads the delay below it.
func TestReferenceRule(t *testing.T) {
	b := Backoff{Base: time.Second, Max: 5 * time.Second, Jitter: 0.5, Rule: Reference, Rand: fixed(0.25)}
	// 0.25: tenth digit 2 (even), so 1000 − ⌊0.25·0.5·1000⌋.
	if d := b.Delay(0); d != 875*time.Millisecond {
		t.Errorf("first: %v, want 875ms", d)
	}
	b.Rand = fixed(0.3125) // tenth digit 3 (odd): 2000 + ⌊312.5⌋
	if d := b.Delay(1); d != 2312*time.Millisecond {
		t.Errorf("second: %v, want 2.312s", d)
	}
	// 8000 + 1250 ≥ 5000: 5000 − ⌊0.3125·0.5·5000⌋
	if d := b.Delay(3); d != 4219*time.Millisecond {
		t.Errorf("capped: %v, want 4.219s", d)
	}
	b = Backoff{Base: 100 * time.Millisecond, Max: time.Second, Rule: Reference}
	for i, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		if d := b.Next(); d != want*time.Millisecond {
			t.Errorf("no jitter, attempt %d: %v, want %v", i, d, want*time.Millisecond)
		}
	}
	if d := b.Delay(1 << 30); d != time.Second {
		t.Errorf("a huge attempt: %v, want the cap", d)
	}
}
