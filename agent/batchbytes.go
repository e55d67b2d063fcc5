package agent

import (
	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors"
)

// cut returns how many of the first readings of rs go into the next batch:
// at most maxCount, and as many as encode within maxBytes
// (config.DefaultBatchMaxBytes when zero), at least one. Encoded sizes grow
// with the number of readings, so a binary search finds the cut.
func (b *batcher) cut(rs []sensors.Reading) int {
	n := min(len(rs), b.maxCount)
	limit := b.maxBytes
	if limit <= 0 {
		limit = config.DefaultBatchMaxBytes
	}
	if n <= 1 || b.fits(rs[:n], limit) {
		return n
	}
	lo, hi := 1, n // rs[:lo] is taken, rs[:hi] is too large
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if b.fits(rs[:mid], limit) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// fits reports whether rs encode within limit bytes; readings that do not
// encode at all are left to encode to count as lost.
func (b *batcher) fits(rs []sensors.Reading, limit int) bool {
	p, err := b.codec.Encode(rs)
	return err != nil || len(p) <= limit
}
