package outbox

import (
	"context"

	"golang.org/x/time/rate"
)

// rateLimit is Options.DrainRate: a token bucket of payload bytes that
// holds one second's worth.
type rateLimit struct {
	lim *rate.Limiter
}

// newRateLimit returns the limit of bytesPerSecond, nil for none.
func newRateLimit(bytesPerSecond int64) *rateLimit {
	if bytesPerSecond <= 0 {
		return nil
	}
	burst := int(min(bytesPerSecond, int64(^uint32(0)>>1)))
	return &rateLimit{lim: rate.NewLimiter(rate.Limit(bytesPerSecond), burst)}
}

// wait takes n bytes' worth of tokens, waiting for them as long as it
// takes or until ctx ends (its error). A payload larger than the bucket
// waits for it in bucket-sized parts. A nil limit never waits.
func (l *rateLimit) wait(ctx context.Context, n int) error {
	if l == nil {
		return nil
	}
	for burst := l.lim.Burst(); n > 0; {
		k := min(n, burst)
		if err := l.lim.WaitN(ctx, k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}
