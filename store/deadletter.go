package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Dead-letter discard reasons: the bound that made the store delete a dead
// letter to make room for a newer one. They are the names used in logs.
const (
	// DiscardMaxDeadLetters: the bucket was at Options.MaxDeadLetters.
	DiscardMaxDeadLetters = "max_dead_letters"
	// DiscardMaxDeadLetterBytes: the bucket was at Options.MaxDeadLetterBytes.
	DiscardMaxDeadLetterBytes = "max_dead_letter_bytes"
)

// discard is one dead letter deleted by a bound, logged after the commit.
type discard struct {
	seq    uint64
	size   uint64
	reason string
}

// DeadLetter moves the record seq out of the queue into the dead-letter
// bucket, with a reason (at most 1 KiB is kept), so that a record the
// receiver keeps refusing cannot block the queue. Dead letters are kept
// for inspection (DeadLetters) and for an operator to requeue
// (RequeueDeadLetter) or drop (DropDeadLetter), within
// Options.MaxDeadLetters and Options.MaxDeadLetterBytes: beyond them the
// lowest seqs are discarded, each one counted in
// Stats.DeadLettersDiscarded and logged at warn level. All are counted in
// Stats.DeadLettered. It returns ErrNotFound if seq is not queued.
func (s *Store) DeadLetter(seq uint64, reason string) error {
	at := s.cfg.clock()
	var gone []discard
	err := s.update(func(tx *bolt.Tx, m *meta) error {
		gone = nil
		b := tx.Bucket(bucketRecords)
		k := seqKey(seq)
		v := b.Get(k)
		if v == nil {
			return &callerError{fmt.Errorf("%w: seq %d", ErrNotFound, seq)}
		}
		v = bytes.Clone(v)
		size := uint64(len(k) + len(v))
		if err := b.Delete(k); err != nil {
			return err
		}
		sub(&m.count, 1)
		sub(&m.bytes, size)

		dv := encodeDead(at, reason, v)
		d := tx.Bucket(bucketDead)
		if err := d.Put(k, dv); err != nil {
			return err
		}
		m.deadCount++
		m.deadBytes += uint64(len(k) + len(dv))
		m.deadTotal++
		gone = s.boundDead(d, m)
		return nil
	})
	if err == nil {
		s.log.Warn("store: record dead-lettered", "seq", seq, "reason", reason)
		s.logDiscards(gone)
	}
	return err
}

// boundDead discards the dead letters with the lowest seqs until the
// bucket is within MaxDeadLetters and MaxDeadLetterBytes, and counts them.
// The newest dead letter is always kept, even alone over the byte bound.
func (s *Store) boundDead(d *bolt.Bucket, m *meta) []discard {
	var gone []discard
	c := d.Cursor()
	for m.deadCount > 1 {
		var reason string
		switch {
		case m.deadCount > s.cfg.maxDeadLetters:
			reason = DiscardMaxDeadLetters
		case m.deadBytes > s.cfg.maxDeadBytes:
			reason = DiscardMaxDeadLetterBytes
		default:
			return gone
		}
		k, v := c.First()
		if k == nil {
			return gone
		}
		seq, _ := keySeq(k)
		size := uint64(len(k) + len(v))
		_ = d.Delete(k) // cannot fail: the bucket is writable and k exists
		sub(&m.deadCount, 1)
		sub(&m.deadBytes, size)
		m.deadDiscarded++
		gone = append(gone, discard{seq: seq, size: size, reason: reason})
	}
	return gone
}

// logDiscards logs the dead letters a committed transaction discarded.
func (s *Store) logDiscards(gone []discard) {
	for _, g := range gone {
		s.log.Warn("store: dead letter discarded to stay within the dead-letter bounds", "seq", g.seq, "bytes", g.size, "bound", g.reason)
	}
}

// DeadLetterBySeq returns the dead letter seq, or an error wrapping
// ErrNotFound when there is none (or it is damaged).
func (s *Store) DeadLetterBySeq(seq uint64) (DeadRecord, error) {
	var out DeadRecord
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		out, err = getDead(tx, seq)
		if err == nil {
			out.Data = bytes.Clone(out.Data)
		}
		return err
	})
	return out, err
}

// getDead reads the dead letter seq; its Data aliases the transaction's
// memory.
func getDead(tx *bolt.Tx, seq uint64) (DeadRecord, error) {
	k := seqKey(seq)
	v := tx.Bucket(bucketDead).Get(k)
	if v == nil {
		return DeadRecord{}, fmt.Errorf("%w: no dead letter with seq %d", ErrNotFound, seq)
	}
	d, err := decodeDead(k, v)
	if err != nil {
		return DeadRecord{}, fmt.Errorf("%w: dead letter seq %d: %w", ErrNotFound, seq, err)
	}
	return d, nil
}

// RequeueDeadLetter moves the dead letter seq back into the queue as a new
// record, with a new seq (returned) above every seq handed out, so that
// the seqs a receiver sees keep increasing. rewrite turns the dead letter
// into the new record's data (typically to name the seq it replaces); nil
// keeps the data as it is. Both happen in one transaction: the dead letter
// is gone exactly when the new record is queued. The new record counts
// towards the queue's bounds like an append (ErrTooLarge; ErrFull under
// the Reject policy; DropOldest drops the oldest queued records). Errors
// wrap ErrNotFound when there is no such dead letter.
func (s *Store) RequeueDeadLetter(seq uint64, rewrite func(DeadRecord) ([]byte, error)) (uint64, error) {
	now := s.cfg.clock()
	var newSeq uint64
	err := s.update(func(tx *bolt.Tx, m *meta) error {
		newSeq = 0
		d, err := getDead(tx, seq)
		if err != nil {
			return &callerError{err}
		}
		data := bytes.Clone(d.Data)
		if rewrite != nil {
			if data, err = rewrite(d); err != nil {
				return &callerError{fmt.Errorf("store: requeue seq %d: %w", seq, err)}
			}
		}
		size := storedSize(len(data))
		if size > s.cfg.byteBound() {
			return &callerError{ErrTooLarge}
		}
		if s.cfg.overflow == Reject && !s.fits(m, 1, size) {
			return &callerError{ErrFull}
		}
		k := seqKey(seq)
		dv := tx.Bucket(bucketDead).Get(k)
		deadSize := uint64(len(k) + len(dv))
		if err := tx.Bucket(bucketDead).Delete(k); err != nil {
			return err
		}
		sub(&m.deadCount, 1)
		sub(&m.deadBytes, deadSize)
		m.deadRequeued++

		b := tx.Bucket(bucketRecords)
		if err := s.reserveSeqs(b, 1); err != nil {
			return err
		}
		if newSeq, err = b.NextSequence(); err != nil {
			return err
		}
		if err := b.Put(seqKey(newSeq), encodeRecord(newSeq, now, data)); err != nil {
			return err
		}
		m.count++
		m.bytes += size
		if s.cfg.overflow == DropOldest {
			s.enforceBounds(tx, m)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.log.Warn("store: dead letter requeued", "seq", seq, "new_seq", newSeq)
	s.wake(false)
	return newSeq, nil
}

// DropDeadLetter deletes the dead letter seq for good and counts it in
// Stats.DeadLettersDropped. Errors wrap ErrNotFound when there is no such
// dead letter.
func (s *Store) DropDeadLetter(seq uint64) error {
	err := s.update(func(tx *bolt.Tx, m *meta) error {
		d := tx.Bucket(bucketDead)
		k := seqKey(seq)
		v := d.Get(k)
		if v == nil {
			return &callerError{fmt.Errorf("%w: no dead letter with seq %d", ErrNotFound, seq)}
		}
		size := uint64(len(k) + len(v))
		if err := d.Delete(k); err != nil {
			return err
		}
		sub(&m.deadCount, 1)
		sub(&m.deadBytes, size)
		m.deadDropped++
		return nil
	})
	if err == nil {
		s.log.Warn("store: dead letter dropped", "seq", seq)
	}
	return err
}
