package store

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// appendReq is one Append or AppendBatch call handed to the committer.
// Its records are committed together or not at all.
type appendReq struct {
	ctx   context.Context
	recs  [][]byte
	bytes uint64    // stored size of recs
	start time.Time // when it was submitted, for GroupCommit.MaxDelay

	// Set by the committer before done is closed.
	seqs []uint64
	err  error
	done chan struct{}
}

// Append stores data as one record and returns its seq once the record is
// durable (committed and fsynced). Concurrent calls share transactions
// (see GroupCommit). The store does not keep data after Append returns.
//
// If ctx ends before the committer runs the transaction that would hold
// the record (while Append waits to hand it over, or while it waits in a
// group not yet committed), Append returns ctx.Err() and nothing is
// stored. Once that transaction runs with ctx still live, Append waits for
// its commit (one fsync) whatever ctx does. When Append returns an error,
// the record was not stored. Errors: ErrTooLarge, ErrFull (Reject
// policy, or the file at MaxFileSize), ErrDiskFull, ErrClosed.
//
// Under DropOldest a successful Append means the record was queued; it may
// have been dropped since (even in the same transaction, when the group
// being committed overflows the bounds), and such drops are counted in
// Stats.Drops like any other.
func (s *Store) Append(ctx context.Context, data []byte) (uint64, error) {
	seqs, err := s.submit(ctx, [][]byte{data})
	if err != nil {
		return 0, err
	}
	return seqs[0], nil
}

// AppendBatch stores records atomically (all or none) in order and returns
// their seqs, which are consecutive. It is for producers that batch
// themselves; it behaves like Append otherwise. An empty batch stores
// nothing and returns nil.
func (s *Store) AppendBatch(ctx context.Context, records [][]byte) ([]uint64, error) {
	if len(records) == 0 {
		return nil, nil
	}
	return s.submit(ctx, records)
}

// submit hands records to the committer and waits for the outcome.
func (s *Store) submit(ctx context.Context, recs [][]byte) ([]uint64, error) {
	req := &appendReq{ctx: ctx, recs: recs, done: make(chan struct{})}
	for _, r := range recs {
		req.bytes += storedSize(len(r))
	}
	if req.bytes > s.cfg.byteBound() || (s.cfg.maxRecords > 0 && uint64(len(recs)) > s.cfg.maxRecords) {
		return nil, ErrTooLarge
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return nil, ErrClosed
	}
	req.start = time.Now()
	select {
	case s.reqs <- req:
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return nil, ctx.Err()
	}
	s.closeMu.RUnlock()

	<-req.done
	return req.seqs, req.err
}

// runBatcher is the committer goroutine: it gathers appends into groups and
// commits each group in one transaction. On Close it commits whatever was
// submitted and returns.
func (s *Store) runBatcher() {
	defer close(s.batcherDone)
	for {
		select {
		case first := <-s.reqs:
			s.commitAppends(s.gather(first))
		case <-s.quit:
			// Close has stopped new submissions; commit the rest.
			for {
				select {
				case first := <-s.reqs:
					s.commitAppends(s.gather(first))
				default:
					return
				}
			}
		}
	}
}

// gather collects the requests that join first's transaction: all those
// already queued, and then, while GroupCommit.MaxRecords records are not
// collected and MaxDelay has not passed since first was submitted, those
// that arrive when the committer yields the processor. The committer stops
// at the first yield that brings nothing: the producers that were ready to
// submit (typically those just woken by the previous commit) are in, and
// waiting longer would only add latency. Appends that arrive while the
// transaction commits go to the next one.
func (s *Store) gather(first *appendReq) []*appendReq {
	batch := []*appendReq{first}
	n := len(first.recs)
	deadline := first.start.Add(s.cfg.groupDelay)
	yielded := false
	for n < s.cfg.groupRecords {
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
			n += len(r.recs)
			yielded = false
			continue
		default:
		}
		if yielded || s.cfg.groupDelay <= 0 || !time.Now().Before(deadline) {
			break
		}
		runtime.Gosched()
		yielded = true
	}
	return batch
}

// commitAppends commits one group of appends and reports to each caller.
// Under DropOldest a group refused because the file reached MaxFileSize
// (dead letters, which the queue's bounds do not count, can fill it) is
// retried after dropping old records to make room (makeRoom): the policy
// drops the oldest, never the newest.
func (s *Store) commitAppends(batch []*appendReq) {
	err := s.tryAppends(batch)
	for attempt := 0; attempt < maxRoomAttempts && errors.Is(err, berrors.ErrMaxSizeReached) && s.cfg.overflow == DropOldest; attempt++ {
		if !s.makeRoom(batch, attempt) {
			break
		}
		err = s.tryAppends(batch)
	}
	appended := err == nil && appendedAny(batch)
	if appended {
		s.logCommitted(batch)
	}
	for _, r := range batch {
		if err != nil {
			r.seqs, r.err = nil, err
		}
		close(r.done)
	}
	if appended {
		s.wake(false)
	}
}

// appendedAny reports whether a committed group stored any record.
func appendedAny(batch []*appendReq) bool {
	for _, r := range batch {
		if r.err == nil && len(r.seqs) > 0 {
			return true
		}
	}
	return false
}

// tryAppends runs the transaction of one group of appends.
func (s *Store) tryAppends(batch []*appendReq) error {
	now := s.cfg.clock()
	return s.update(func(tx *bolt.Tx, m *meta) error {
		b := tx.Bucket(bucketRecords)
		b.FillPercent = fillPercent
		if err := s.trimHead(tx, m, now); err != nil {
			return err
		}
		// No seq above the durable floor may be handed out: raise it
		// first if this group could cross it. The new mark is one block
		// above the committed sequence (or just enough for a larger
		// group), so that a crash leaves the file at most one block
		// below it and the next Open can trust the file (seqfloor.go).
		total := uint64(0)
		for _, r := range batch {
			total += uint64(len(r.recs))
		}
		if err := s.reserveSeqs(b, total); err != nil {
			return err
		}
		for _, r := range batch {
			r.seqs, r.err = nil, nil
			if err := r.ctx.Err(); err != nil {
				r.err = err
				continue
			}
			if s.cfg.overflow == Reject && !s.fits(m, len(r.recs), r.bytes) {
				r.err = ErrFull
				continue
			}
			seqs := make([]uint64, len(r.recs))
			for i, data := range r.recs {
				seq, err := b.NextSequence()
				if err != nil {
					return err
				}
				if err := b.Put(seqKey(seq), encodeRecord(seq, now, data)); err != nil {
					return err
				}
				seqs[i] = seq
			}
			m.count += uint64(len(r.recs))
			m.bytes += r.bytes
			r.seqs = seqs
		}
		if s.cfg.overflow == DropOldest {
			s.enforceBounds(tx, m)
		}
		return nil
	})
}

// logCommitted logs, at debug level, the seqs a group commit made durable
// (one contiguous range), before any caller learns them: the power-cut
// end-to-end test checks every logged seq against the server.
func (s *Store) logCommitted(batch []*appendReq) {
	if !s.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	var first, last uint64
	for _, r := range batch {
		if len(r.seqs) == 0 {
			continue
		}
		if first == 0 {
			first = r.seqs[0]
		}
		last = r.seqs[len(r.seqs)-1]
	}
	s.log.Debug("store: records committed", "first", first, "last", last)
}
