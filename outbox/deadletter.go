package outbox

import (
	"errors"
	"fmt"

	"github.com/sioagent/sioagent/store"
	"github.com/sioagent/sioagent/wire"
)

// rejected handles an ack that said no (or could not be read).
func (r *drain) rejected(seq uint64, ae *wire.AckError) {
	r.d.count(func(s *Stats) { s.Rejected++ })
	if ae.Permanent {
		r.d.attempts[seq]++
		if n := r.d.attempts[seq]; n >= r.d.opts.MaxAttempts {
			if r.deadLetter(seq, fmt.Sprintf("rejected %d times, last: %s: %s", n, ae.Code, ae.Message)) {
				r.removeFailed(seq)
			}
			r.d.fail(ae)
			return
		}
	}
	r.d.log.Warn("outbox: server refused a record; it will be sent again",
		"seq", seq, "code", ae.Code, "message", ae.Message, "permanent", ae.Permanent, "attempts", r.d.attempts[seq])
	r.hold(r.nextDelay(), ae)
}

// deadLetter moves seq out of the queue for good. It reports false when
// the store failed (the record stays queued and the sending is held).
func (r *drain) deadLetter(seq uint64, reason string) bool {
	delete(r.d.attempts, seq)
	err := r.d.st.DeadLetter(seq, reason)
	switch {
	case err == nil:
		r.d.log.Warn("outbox: record moved to the dead-letter bucket", "seq", seq, "reason", reason)
		r.d.count(func(s *Stats) { s.DeadLettered++ })
		r.d.tookOut()
	case errors.Is(err, store.ErrNotFound):
		// Dropped by a bound meanwhile.
	default:
		r.storeFailed("dead-letter", err)
		return false
	}
	return true
}

// Requeue puts the dead letter seq of st back in the queue as a new record
// with a new seq, above every seq handed out, so that the seqs the server
// sees keep increasing; the new record's header names seq in its replaces
// field (wire.TelemetryHeader.Replaces). The dead letter is gone exactly when the new
// record is queued (store.Store.RequeueDeadLetter). It returns the new
// seq. A dead letter that is not a batch of this package (ErrBadRecord)
// cannot be requeued; errors wrap store.ErrNotFound when there is no dead
// letter seq.
func Requeue(st *store.Store, seq uint64) (uint64, error) {
	return st.RequeueDeadLetter(seq, func(d store.DeadRecord) ([]byte, error) {
		var b Batch
		if err := b.UnmarshalBinary(d.Data); err != nil {
			return nil, err
		}
		b.Replaces = seq
		return b.MarshalBinary()
	})
}
