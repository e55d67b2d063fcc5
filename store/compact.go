package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// maybeCompactLocked compacts the file when the queue is empty and the
// file is much larger than its live data (bbolt files never shrink on
// their own). The caller holds wmu. A failure is logged, not returned:
// the old file stays in use.
func (s *Store) maybeCompactLocked() {
	s.statsMu.Lock()
	m := s.meta
	s.statsMu.Unlock()
	if m.count != 0 || s.db == nil {
		return
	}
	fi, err := os.Stat(s.path)
	if err != nil {
		return
	}
	live := m.deadBytes + m.quarBytes
	if fi.Size() < compactMinFileSize || uint64(fi.Size()) < compactFactor*live {
		return
	}
	start := time.Now()
	if err := s.compactLocked(); err != nil {
		s.log.Warn("store: compaction failed; keeping the file as it is", "size", fi.Size(), "err", err)
		return
	}
	s.compactions.Add(1)
	after := int64(0)
	if fi, err := os.Stat(s.path); err == nil {
		after = fi.Size()
	}
	s.log.Info("store: compacted the drained file", "before", fi.Size(), "after", after, "took", time.Since(start))
}

// compactLocked copies the live data, with the bucket sequences (so seqs
// never go back), into a new file next to the old one and renames it over
// the old one. The new file is opened (and so locked) before the rename
// and used from then on, so the file at path is never unlocked. The
// caller holds wmu.
func (s *Store) compactLocked() (err error) {
	tmp := s.path + compactSuffix
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	dst, err := bolt.Open(tmp, fileMode, boltOptions(s.cfg))
	if err != nil {
		return err
	}
	renamed := false
	defer func() {
		if !renamed {
			_ = dst.Close()
			_ = os.Remove(tmp)
		}
	}()
	// Each bbolt commit fdatasyncs the new file.
	if err := bolt.Compact(dst, s.db, 0); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	if !fsyncOff {
		if err := dst.Sync(); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return err
	}
	renamed = true
	if !fsyncOff {
		s.syncs.Add(2) // the file, then its directory
	}
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		// The rename happened but may not survive a power cut, which
		// would bring back the old file without what is appended to the
		// new one: stop writing (the next Open sees which file is there).
		_ = s.fail(fmt.Errorf("compaction: %w", err))
	}

	s.dbmu.Lock()
	old := s.db
	s.db = dst
	s.dbmu.Unlock()
	if err := old.Close(); err != nil {
		s.log.Warn("store: compaction: closing the old file", "err", err)
	}
	return nil
}
