package store

import (
	"os"
	"time"
)

// Drop reasons: the bound that made DropOldest delete a record. They are
// the names used in logs and metrics.
const (
	// DropMaxBytes: the queue was at Options.MaxBytes.
	DropMaxBytes = "max_bytes"
	// DropMaxRecords: the queue was at Options.MaxRecords.
	DropMaxRecords = "max_records"
	// DropMaxAge: the record was older than Options.MaxAge.
	DropMaxAge = "max_age"
	// DropMaxFileSize: the queue reached the share of Options.MaxFileSize
	// it may use (3/8, below MaxBytes only when the ceiling is too small
	// for it), or bbolt refused to grow the file, and DropOldest made room.
	DropMaxFileSize = "max_file_size"
)

// Drops counts records deleted by a bound, by reason, since the file was
// created (they survive restarts, not a recovery from a damaged file).
type Drops struct {
	// MaxBytes counts records dropped to stay within Options.MaxBytes.
	MaxBytes uint64
	// MaxRecords counts records dropped to stay within Options.MaxRecords.
	MaxRecords uint64
	// MaxAge counts records that expired (Options.MaxAge).
	MaxAge uint64
	// MaxFileSize counts records dropped because the file had reached
	// Options.MaxFileSize.
	MaxFileSize uint64
}

// Total is the number of records dropped for any reason.
func (d Drops) Total() uint64 { return d.MaxBytes + d.MaxRecords + d.MaxAge + d.MaxFileSize }

// add counts one drop for reason (one of the Drop* constants).
func (d *Drops) add(reason string) {
	switch reason {
	case DropMaxBytes:
		d.MaxBytes++
	case DropMaxRecords:
		d.MaxRecords++
	case DropMaxAge:
		d.MaxAge++
	case DropMaxFileSize:
		d.MaxFileSize++
	}
}

// Stats is a snapshot of a Store's counters.
type Stats struct {
	// Count is the number of queued records.
	Count uint64
	// Bytes is their stored size: the sum of len(data) + RecordOverhead.
	Bytes uint64
	// OldestAge is the age of the oldest queued record (zero when empty).
	OldestAge time.Duration
	// NextSeq is the seq the next appended record will get.
	NextSeq uint64
	// Drops counts records deleted by a bound, by reason.
	Drops Drops
	// Quarantined counts damaged records moved to the quarantine bucket
	// since the file was created.
	Quarantined uint64
	// DeadLetters is the number of records kept in the dead-letter bucket.
	DeadLetters uint64
	// DeadLetterBytes is their stored size (key and dead-letter envelope).
	DeadLetterBytes uint64
	// DeadLettered counts records moved to the dead-letter bucket since the
	// file was created (including those later discarded, dropped or
	// requeued).
	DeadLettered uint64
	// DeadLettersDiscarded counts dead letters deleted to stay within
	// Options.MaxDeadLetters or Options.MaxDeadLetterBytes, since the file
	// was created; each one was logged.
	DeadLettersDiscarded uint64
	// DeadLettersDropped counts dead letters deleted by DropDeadLetter.
	DeadLettersDropped uint64
	// DeadLettersRequeued counts dead letters put back in the queue by
	// RequeueDeadLetter.
	DeadLettersRequeued uint64
	// FileSize is the size of the database file in bytes.
	FileSize int64
	// Recovered is true when Open found the file damaged and started a
	// fresh one (see Store.Recovery).
	Recovered bool
	// Commits counts write transactions committed since Open. With group
	// commit it grows much slower than the number of appends.
	Commits uint64
	// Compactions counts file compactions since Open.
	Compactions uint64
	// Syncs counts the fsyncs the store asked for since Open: two per
	// commit (bbolt's Tx.Commit fdatasyncs after the data pages, then
	// after the meta page), two per write of the seq sidecar and per
	// compaction (the file, its directory), not counting the commits
	// inside a compaction's copy. Zero in the sioagent_nofsync test build.
	Syncs uint64
}

// bboltSyncsPerCommit is the fdatasync calls of one bbolt commit.
const bboltSyncsPerCommit = 2

// Recovery describes a damaged database file that Open set aside.
type Recovery struct {
	// Path is where the damaged file now is. It is kept, never deleted,
	// for inspection (e.g. with the bbolt CLI) and salvage.
	Path string
	// Err says why the file was judged damaged; it wraps ErrCorrupt.
	Err error
	// At is when the file was set aside (Options.Clock).
	At time.Time
}

// Stats returns the store's counters. It costs no transaction and no scan
// (one stat call for FileSize): the counters are kept up to date by every
// write transaction. After Close it returns the last values.
func (s *Store) Stats() Stats {
	s.statsMu.Lock()
	m, oldest, next := s.meta, s.oldest, s.nextSeq
	s.statsMu.Unlock()

	st := Stats{
		Count:        m.count,
		Bytes:        m.bytes,
		NextSeq:      next,
		Drops:        m.drops,
		Quarantined:  m.quarTotal,
		DeadLetters:  m.deadCount,
		DeadLettered: m.deadTotal,

		DeadLetterBytes:      m.deadBytes,
		DeadLettersDiscarded: m.deadDiscarded,
		DeadLettersDropped:   m.deadDropped,
		DeadLettersRequeued:  m.deadRequeued,
		Recovered:            s.recovery != nil,
		Commits:              s.commits.Load(),
		Syncs:                s.syncs.Load(),
		Compactions:          s.compactions.Load(),
	}
	if !fsyncOff {
		st.Syncs += st.Commits * bboltSyncsPerCommit
	}
	if !oldest.IsZero() {
		st.OldestAge = max(s.cfg.clock().Sub(oldest), 0)
	}
	if fi, err := os.Stat(s.path); err == nil {
		st.FileSize = fi.Size()
	}
	return st
}

// Recovery reports the damaged file that Open set aside, or nil when the
// file opened cleanly. The same event was logged at error level.
func (s *Store) Recovery() *Recovery {
	if s.recovery == nil {
		return nil
	}
	r := *s.recovery
	return &r
}
