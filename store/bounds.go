package store

import (
	"bytes"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Making room when the file is full (see commitAppends): each attempt
// drops the oldest records holding at least the group's size, and at
// least 1/roomFraction of the queue, doubled at every attempt (bbolt can
// reuse the freed pages only from the next transaction on, and a reader
// still open can hold them a little longer).
const (
	maxRoomAttempts = 16
	roomFraction    = 32
)

// makeRoom drops, in one transaction, the oldest queued records to free
// space for batch, counting them as DropMaxFileSize; it reports whether it
// dropped anything (an empty queue cannot make room). Deleting needs new
// pages too (bbolt copies on write, and the freed pages are reusable only
// from the next transaction), so when the file has none left for a large
// deletion it deletes the oldest record alone, which needs the fewest.
func (s *Store) makeRoom(batch []*appendReq, attempt int) bool {
	var need uint64
	for _, r := range batch {
		need += r.bytes
	}
	n, err := s.dropOldest(func(m *meta) uint64 { return max(need, m.bytes/roomFraction) << attempt })
	if err != nil {
		n, err = s.dropOldest(func(*meta) uint64 { return 1 })
	}
	if err != nil || n == 0 {
		return false
	}
	s.log.Warn("store: the file reached its size limit before the queue's bounds; dropped the oldest records to make room",
		"dropped", n, "max_file_size", s.cfg.maxFileSize)
	return true
}

// dropOldest deletes, in one transaction, the oldest records until their
// stored size reaches target(m), counting them as DropMaxFileSize, and
// returns how many.
func (s *Store) dropOldest(target func(*meta) uint64) (int, error) {
	dropped := 0
	err := s.update(func(tx *bolt.Tx, m *meta) error {
		dropped = 0
		want := target(m)
		b := tx.Bucket(bucketRecords)
		c := b.Cursor()
		var freed uint64
		for k, v := c.First(); k != nil && freed < want; k, v = c.First() {
			freed += uint64(len(k) + len(v))
			s.drop(b, m, k, v, DropMaxFileSize)
			dropped++
		}
		if dropped == 0 {
			return errNoChange
		}
		return nil
	})
	if err != nil {
		dropped = 0
	}
	return dropped, err
}

// All helpers here run inside a write transaction and keep m in step with
// what they change. None of them calls Cursor.Next after a Delete (which
// can skip a key): they re-seek with First instead.

// trimHead removes from the head of the queue the records that are damaged
// (to quarantine) or older than MaxAge (dropped), up to the first good,
// live record.
func (s *Store) trimHead(tx *bolt.Tx, m *meta, now time.Time) error {
	b := tx.Bucket(bucketRecords)
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.First() {
		rec, err := decodeRecord(k, v)
		switch {
		case err != nil:
			if err := s.quarantine(tx, m, k, v, err); err != nil {
				return err
			}
		case s.expired(rec.Appended, now):
			s.drop(b, m, k, v, DropMaxAge)
		default:
			return nil
		}
	}
	return nil
}

// expired reports whether a record appended at t is older than MaxAge.
func (s *Store) expired(t, now time.Time) bool {
	return s.cfg.maxAge > 0 && now.Sub(t) > s.cfg.maxAge
}

// fits reports whether n more records of the given stored size fit in the
// bounds.
func (s *Store) fits(m *meta, n int, size uint64) bool {
	if s.cfg.maxRecords > 0 && m.count+uint64(n) > s.cfg.maxRecords {
		return false
	}
	return m.bytes+size <= s.cfg.byteBound()
}

// enforceBounds drops the oldest records until the queue is within
// MaxRecords and MaxBytes.
func (s *Store) enforceBounds(tx *bolt.Tx, m *meta) {
	b := tx.Bucket(bucketRecords)
	c := b.Cursor()
	for {
		var reason string
		switch {
		case s.cfg.maxRecords > 0 && m.count > s.cfg.maxRecords:
			reason = DropMaxRecords
		case m.bytes > s.cfg.maxBytes:
			reason = DropMaxBytes
		case s.cfg.fileBound > 0 && m.bytes > s.cfg.fileBound:
			reason = DropMaxFileSize
		default:
			return
		}
		k, v := c.First()
		if k == nil {
			return
		}
		s.drop(b, m, k, v, reason)
	}
}

// drop deletes one record because of a bound and counts it.
func (s *Store) drop(b *bolt.Bucket, m *meta, k, v []byte, reason string) {
	size := uint64(len(k) + len(v))
	_ = b.Delete(k) // cannot fail: the bucket is writable and k exists
	sub(&m.count, 1)
	sub(&m.bytes, size)
	m.drops.add(reason)
}

// quarantine moves a damaged record from the queue to the quarantine
// bucket (bounded by maxQuarantined) and logs it.
func (s *Store) quarantine(tx *bolt.Tx, m *meta, k, v []byte, why error) error {
	k, v = bytes.Clone(k), bytes.Clone(v)
	if err := tx.Bucket(bucketRecords).Delete(k); err != nil {
		return err
	}
	sub(&m.count, 1)
	sub(&m.bytes, uint64(len(k)+len(v)))

	q := tx.Bucket(bucketQuarantine)
	if err := q.Put(k, v); err != nil {
		return err
	}
	m.quarCount++
	m.quarBytes += uint64(len(k) + len(v))
	m.quarTotal++
	evictOldest(q, &m.quarCount, &m.quarBytes, maxQuarantined)
	seq, _ := keySeq(k)
	s.log.Warn("store: damaged record quarantined", "seq", seq, "err", why)
	return nil
}

// evictOldest deletes the first keys of b until *count <= limit.
func evictOldest(b *bolt.Bucket, count, size *uint64, limit uint64) {
	c := b.Cursor()
	for *count > limit {
		k, v := c.First()
		if k == nil {
			return
		}
		sub(size, uint64(len(k)+len(v)))
		sub(count, 1)
		_ = b.Delete(k)
	}
}

// byteBound is the queue's effective byte bound: MaxBytes, or less when
// the file ceiling cannot hold that much (see fileUseNum).
func (c config) byteBound() uint64 {
	if c.fileBound > 0 {
		return min(c.maxBytes, c.fileBound)
	}
	return c.maxBytes
}
