package agent

import "sync"

// Reasons why readings were lost before they reached the outbox. They are
// the one vocabulary of such losses: the "reason" of the log line that
// reports each loss, the keys of Status.Batches.Losses (`sioagent status`,
// agent:status) and the labels of any metric counting them. Readings the
// outbox dropped after their commit (its bounds) are counted by the store
// instead (Status.Outbox.Drops).
const (
	// LossStopping: the agent stopped before the readings could be
	// committed (the batcher did not take them within stopHandoff, or the
	// store still failed at the last attempt before exit).
	LossStopping = "stopping"
	// LossOutboxFull: the outbox is at its bounds and its overflow policy
	// is "reject", which refuses new readings.
	LossOutboxFull = "outbox_full"
	// LossTooLarge: the batch can never fit in the outbox's bounds.
	LossTooLarge = "too_large"
	// LossEncode: the batch could not be encoded (a bug).
	LossEncode = "encode"
	// LossClosed: the outbox was closed under the batcher.
	LossClosed = "outbox_closed"
)

// LossReasons returns every loss reason, in a fixed order.
func LossReasons() []string {
	return []string{LossStopping, LossOutboxFull, LossTooLarge, LossEncode, LossClosed}
}

// lossCounts counts lost readings by reason. The zero value is ready.
type lossCounts struct {
	mu sync.Mutex
	n  map[string]uint64
}

// add counts n readings lost for reason.
func (l *lossCounts) add(reason string, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == nil {
		l.n = map[string]uint64{}
	}
	l.n[reason] += uint64(n)
}

// snapshot returns the counts of every reason of LossReasons (zero when
// none were lost for it).
func (l *lossCounts) snapshot() map[string]uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]uint64, len(l.n))
	for _, r := range LossReasons() {
		out[r] = l.n[r]
	}
	return out
}
