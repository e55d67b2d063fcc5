package outbox

import "slices"

// Deletion follows seq: a record acked with ok is deleted only once every
// record before it in the store is acked (or gone). Until then it is held
// in acked, in memory, and not sent again while Run lives; failed holds
// the records whose last send did not end in an ok (sorted).
type ackOrder struct {
	failed []uint64
	acked  map[uint64]bool
}

// addFailed records that seq was sent and not acked with ok.
func (r *drain) addFailed(seq uint64) {
	i, found := slices.BinarySearch(r.order.failed, seq)
	if !found {
		r.order.failed = slices.Insert(r.order.failed, i, seq)
	}
}

// removeFailed forgets seq as failed (acked, or gone from the store).
func (r *drain) removeFailed(seq uint64) {
	if i, found := slices.BinarySearch(r.order.failed, seq); found {
		r.order.failed = slices.Delete(r.order.failed, i, i+1)
	}
}

// dropFailedBetween forgets the failed seqs strictly between lo and hi: the
// store holds no record there any more (dropped by a bound).
func (r *drain) dropFailedBetween(lo, hi uint64) {
	r.order.failed = slices.DeleteFunc(r.order.failed, func(seq uint64) bool { return seq > lo && seq < hi })
}

// release hands to the remover, in seq order, the acked records that no
// failed record precedes.
func (r *drain) release() {
	limit := ^uint64(0)
	if len(r.order.failed) > 0 {
		limit = r.order.failed[0]
	}
	var seqs []uint64
	for seq := range r.order.acked {
		if seq < limit {
			seqs = append(seqs, seq)
		}
	}
	if len(seqs) == 0 {
		return
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		delete(r.order.acked, seq)
	}
	r.rm.add(seqs)
}
