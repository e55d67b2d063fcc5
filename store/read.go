package store

import (
	"bytes"
	"math"

	bolt "go.etcd.io/bbolt"
)

// Peek returns up to n of the oldest records, oldest first, without
// removing them. It is PeekAfter(0, n).
func (s *Store) Peek(n int) ([]Record, error) { return s.PeekAfter(0, n) }

// PeekAfter returns up to n records with a seq greater than after, oldest
// first, without removing them. A pipelined sender uses it to read past
// the records it already has in flight. Each Record's Data is a copy.
//
// Records older than MaxAge are dropped from the head of the queue, and
// damaged records met on the way are quarantined; both take a write
// transaction, the common case a read transaction only.
func (s *Store) PeekAfter(after uint64, n int) ([]Record, error) {
	if n <= 0 || after == math.MaxUint64 {
		return nil, nil
	}
	var recs []Record
	clean := true
	err := s.view(func(tx *bolt.Tx) error {
		recs, clean = s.collect(tx, after, n)
		return nil
	})
	if err != nil || clean {
		return recs, err
	}
	// Expired or damaged records on the way: repair, then read again in
	// the same write transaction.
	err = s.update(func(tx *bolt.Tx, m *meta) error {
		recs = nil
		if err := s.trimHead(tx, m, s.cfg.clock()); err != nil {
			return err
		}
		for {
			var bad []byte
			recs, bad = s.collectUntilDamaged(tx, after, n)
			if bad == nil {
				return nil
			}
			k := bad
			v := tx.Bucket(bucketRecords).Get(k)
			_, why := decodeRecord(k, v)
			if err := s.quarantine(tx, m, k, v, why); err != nil {
				return err
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return recs, nil
}

// collect reads up to n records after seq after. clean is false when the
// head of the queue has expired or a damaged record was met; the records
// read so far are then not to be used.
func (s *Store) collect(tx *bolt.Tx, after uint64, n int) (recs []Record, clean bool) {
	if s.cfg.maxAge > 0 {
		if _, v := tx.Bucket(bucketRecords).Cursor().First(); v != nil {
			if t, ok := appendedTime(v); !ok || s.expired(t, s.cfg.clock()) {
				return nil, false
			}
		}
	}
	recs, bad := s.collectUntilDamaged(tx, after, n)
	return recs, bad == nil
}

// collectUntilDamaged reads up to n records after seq after, copying them.
// It stops at the first damaged record and returns a copy of its key.
func (s *Store) collectUntilDamaged(tx *bolt.Tx, after uint64, n int) (recs []Record, bad []byte) {
	c := tx.Bucket(bucketRecords).Cursor()
	for k, v := c.Seek(seqKey(after + 1)); k != nil && len(recs) < n; k, v = c.Next() {
		rec, err := decodeRecord(k, v)
		if err != nil {
			return recs, bytes.Clone(k)
		}
		rec.Data = bytes.Clone(rec.Data)
		if rec.Data == nil {
			rec.Data = []byte{}
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// DeadLetters returns up to n dead letters, lowest seq first, for
// inspection. Damaged entries are skipped. It is DeadLettersAfter(0, n).
func (s *Store) DeadLetters(n int) ([]DeadRecord, error) { return s.DeadLettersAfter(0, n) }

// DeadLettersAfter returns up to n dead letters with a seq greater than
// after, lowest seq first: pass the last seq of one call to the next to
// list them all. Damaged entries are skipped.
func (s *Store) DeadLettersAfter(after uint64, n int) ([]DeadRecord, error) {
	if n <= 0 || after == math.MaxUint64 {
		return nil, nil
	}
	var out []DeadRecord
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDead).Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil && len(out) < n; k, v = c.Next() {
			d, err := decodeDead(k, v)
			if err != nil {
				continue
			}
			d.Data = bytes.Clone(d.Data)
			out = append(out, d)
		}
		return nil
	})
	return out, err
}
