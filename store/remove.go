package store

import (
	bolt "go.etcd.io/bbolt"
)

// Remove deletes exactly the records with the given seqs, typically once
// the receiver acknowledged them. Seqs that are not queued (already
// removed, dropped or never used) are ignored. The deletion is durable
// when Remove returns.
func (s *Store) Remove(seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	return s.update(func(tx *bolt.Tx, m *meta) error {
		b := tx.Bucket(bucketRecords)
		removed := false
		for _, seq := range seqs {
			k := seqKey(seq)
			v := b.Get(k)
			if v == nil {
				continue
			}
			size := uint64(len(k) + len(v))
			if err := b.Delete(k); err != nil {
				return err
			}
			sub(&m.count, 1)
			sub(&m.bytes, size)
			removed = true
		}
		if !removed {
			return errNoChange
		}
		return nil
	})
}

// RemoveThrough deletes every queued record with a seq up to and including
// seq: a cumulative acknowledgement. The deletion is durable when
// RemoveThrough returns.
func (s *Store) RemoveThrough(seq uint64) error {
	return s.update(func(tx *bolt.Tx, m *meta) error {
		b := tx.Bucket(bucketRecords)
		c := b.Cursor()
		removed := false
		for k, v := c.First(); k != nil; k, v = c.First() {
			if got, ok := keySeq(k); ok && got > seq {
				break
			}
			size := uint64(len(k) + len(v))
			if err := c.Delete(); err != nil {
				return err
			}
			sub(&m.count, 1)
			sub(&m.bytes, size)
			removed = true
		}
		if !removed {
			return errNoChange
		}
		return nil
	})
}
