package socketio

import (
	"time"

	"github.com/sioagent/sioagent/internal/backoff"
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
)

// newBackoff returns the reconnection backoff of o: the reference client's
// backo2 rule (backoff.Reference: doubling, a jitter of ±factor whose
// direction one random number picks, the cap), except that a delay at the
// cap is spread below it (by up to factor·max) rather than always being the
// cap. SocketOptions.Rejoin uses the same delays, with a count of its own.
func newBackoff(o *Options) *backoff.Backoff {
	b := &backoff.Backoff{Base: o.ReconnectDelay, Max: o.ReconnectDelayMax, Jitter: o.RandomizationFactor, Rule: backoff.Reference}
	if b.Base <= 0 {
		b.Base = DefaultReconnectDelay
	}
	if b.Max <= 0 {
		b.Max = DefaultReconnectDelayMax
	}
	b.Max = max(b.Max, b.Base)
	switch {
	case b.Jitter == 0:
		b.Jitter = DefaultRandomizationFactor
	case b.Jitter < 0 || b.Jitter > 1:
		b.Jitter = 0 // a negative factor turns jitter off
	}
	return b
}
