// Package backoff computes the pauses between retries: a delay that grows
// from a base by a factor at each attempt, up to a cap, spread by jitter so
// that many devices failing at one moment do not retry in step. It is a
// leaf: it imports nothing of sioagent, so that every layer may use it.
//
// One type, Backoff, serves every retry loop of sioagent; its Rule says how
// the jitter is applied. Proportional is the rule of the sensor sampler,
// the outbox drainer and the agent; Reference is the reference Socket.IO
// client's, which the client's reconnection keeps.
package backoff

import (
	"math"
	"math/rand/v2"
	"time"
)

// DefaultFactor is the growth of the delay at each attempt when
// Backoff.Factor is not above 1: it doubles.
const DefaultFactor = 2

// maxExponent keeps Factor^attempt finite in the Reference rule; the delay
// reaches the cap long before.
const maxExponent = 62

// Rule says how a Backoff spreads its delays.
type Rule int

const (
	// Proportional multiplies the delay Base·Factor^attempt, capped at
	// Max, by 1 + Jitter·(2r−1) for r uniform in [0, 1) (so ±Jitter of
	// it, evenly), and keeps the result within [0, Max]: Max is never
	// exceeded.
	Proportional Rule = iota
	// Reference is the reference Socket.IO client's rule (its backo2
	// package), in whole milliseconds: Base·Factor^attempt, moved by
	// ⌊r·Jitter·delay⌋ down or up as the tenth digit of the same r is even
	// or odd, then capped at Max; except that a delay at the cap is spread
	// below it, to Max − ⌊r'·Jitter·Max⌋ with a second draw r', where the
	// reference would wait exactly Max, so that a fleet that lost its
	// server at one moment does not come back in lockstep.
	Reference
)

// Backoff is a sequence of retry delays. The zero value is not useful: set
// Base at least. Next and Reset are not safe for concurrent use; Delay is,
// as long as Rand is.
type Backoff struct {
	// Base is the delay of the first attempt (before jitter); it should
	// be positive.
	Base time.Duration
	// Max caps every delay; a Max below Base counts as Base.
	Max time.Duration
	// Factor is the growth of the delay at each attempt; DefaultFactor
	// when not above 1.
	Factor float64
	// Jitter is the spread, a fraction in [0, 1] (values outside are
	// clamped to it); 0 turns it off.
	Jitter float64
	// Rule says how the jitter is applied; Proportional by default.
	Rule Rule
	// Rand returns numbers uniform in [0, 1); math/rand/v2's Float64 when
	// nil. Tests fix it.
	Rand func() float64

	attempts int
}

// Next returns the delay before the next attempt and counts the attempt.
func (b *Backoff) Next() time.Duration {
	d := b.Delay(b.attempts)
	if b.attempts < math.MaxInt {
		b.attempts++
	}
	return d
}

// Reset starts the sequence again from Base.
func (b *Backoff) Reset() { b.attempts = 0 }

// Attempts returns how many delays Next has returned since the last Reset.
func (b *Backoff) Attempts() int { return b.attempts }

// Delay returns the delay before attempt number attempt (0 is the first,
// which waits about Base) without counting it.
func (b *Backoff) Delay(attempt int) time.Duration {
	attempt = max(attempt, 0)
	if b.Rule == Reference {
		return b.reference(attempt)
	}
	return b.proportional(attempt)
}

// limits returns Max (at least Base), the factor and the jitter as they
// apply.
func (b *Backoff) limits() (capped time.Duration, factor, jitter float64) {
	factor = b.Factor
	if factor <= 1 {
		factor = DefaultFactor
	}
	return max(b.Max, b.Base), factor, min(max(b.Jitter, 0), 1)
}

func (b *Backoff) rand() float64 {
	if b.Rand == nil {
		return rand.Float64()
	}
	return b.Rand()
}

// proportional is the Proportional rule.
func (b *Backoff) proportional(attempt int) time.Duration {
	limit, factor, jitter := b.limits()
	d := b.Base
	for i := 0; i < attempt && d < limit; i++ {
		next := float64(d) * factor
		if next >= float64(limit) {
			d = limit
			break
		}
		d = time.Duration(next)
	}
	d = min(d, limit)
	if jitter > 0 {
		d += time.Duration(float64(d) * jitter * (2*b.rand() - 1))
	}
	return min(max(d, 0), limit)
}

// reference is the Reference rule.
func (b *Backoff) reference(attempt int) time.Duration {
	limit, factor, jitter := b.limits()
	ms := float64(b.Base.Milliseconds()) * math.Pow(factor, float64(min(attempt, maxExponent)))
	if jitter > 0 {
		r := b.rand()
		deviation := math.Floor(r * jitter * ms)
		if int(math.Floor(r*10))&1 == 0 {
			ms -= deviation
		} else {
			ms += deviation
		}
	}
	if maxMs := float64(limit.Milliseconds()); ms >= maxMs {
		return time.Duration(maxMs-math.Floor(b.rand()*jitter*maxMs)) * time.Millisecond
	}
	return time.Duration(ms) * time.Millisecond
}
