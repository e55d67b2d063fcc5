package socketio

import (
	"math"
	"math/rand/v2"
	"time"
)

// Reconnection defaults, equal to the reference client's.
const (
	// DefaultReconnectDelay is the first reconnection delay (before jitter).
	DefaultReconnectDelay = time.Second
	// DefaultReconnectDelayMax caps every reconnection delay.
	DefaultReconnectDelayMax = 5 * time.Second
	// DefaultRandomizationFactor spreads each delay by up to ±50%.
	DefaultRandomizationFactor = 0.5
	// DefaultStableAfter is how long a connection must stay up before the
	// backoff starts again from DefaultReconnectDelay, so that a server that
	// accepts and at once drops connections is not hammered.
	DefaultStableAfter = 10 * time.Second
	// backoffFactor doubles the delay at each attempt.
	backoffFactor = 2
	// maxBackoffExponent keeps 2^attempts finite; the delay is capped long
	// before.
	maxBackoffExponent = 62
)

// backoff computes reconnection delays as the reference client's backo2
// does: min·2^n, then a jitter of ±factor·U drawn from one random number
// (whose tenth digit picks the sign), then the cap; except that a delay at
// the cap is spread below it (by up to factor·max) rather than always being
// the cap.
type backoff struct {
	min, max time.Duration
	jitter   float64
	attempts int
	rand     func() float64
}

// duration returns the delay before the next attempt and counts it.
func (b *backoff) duration() time.Duration {
	exp := min(b.attempts, maxBackoffExponent)
	b.attempts++
	ms := float64(b.min.Milliseconds()) * math.Pow(backoffFactor, float64(exp))
	if b.jitter > 0 {
		r := b.rand()
		deviation := math.Floor(r * b.jitter * ms)
		if int(math.Floor(r*10))&1 == 0 {
			ms -= deviation
		} else {
			ms += deviation
		}
	}
	if maxMs := float64(b.max.Milliseconds()); ms >= maxMs {
		// The reference waits exactly the maximum from here on, so a fleet
		// that lost its server at one moment would come back in lockstep
		// at every attempt. Spread below the cap instead.
		return time.Duration(maxMs-math.Floor(b.rand()*b.jitter*maxMs)) * time.Millisecond
	}
	return time.Duration(ms) * time.Millisecond
}

// reset starts the sequence again from min.
func (b *backoff) reset() { b.attempts = 0 }

func newBackoff(o *Options) *backoff {
	b := &backoff{min: o.ReconnectDelay, max: o.ReconnectDelayMax, jitter: o.RandomizationFactor, rand: rand.Float64}
	if b.min <= 0 {
		b.min = DefaultReconnectDelay
	}
	if b.max <= 0 {
		b.max = DefaultReconnectDelayMax
	}
	if b.max < b.min {
		b.max = b.min
	}
	switch {
	case b.jitter == 0:
		b.jitter = DefaultRandomizationFactor
	case b.jitter < 0 || b.jitter > 1:
		b.jitter = 0 // a negative factor turns jitter off
	}
	return b
}
