package store

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"
)

// Defaults for Options.
const (
	// DefaultMaxBytes bounds the stored size of the queue (see Options.MaxBytes).
	DefaultMaxBytes = 64 << 20
	// DefaultLockTimeout is how long Open waits for the file lock held by
	// another process before it fails with ErrLocked.
	DefaultLockTimeout = time.Second
	// DefaultGroupCommitRecords is the most records one append transaction
	// collects before it commits.
	DefaultGroupCommitRecords = 256
	// DefaultGroupCommitDelay is the longest the committer keeps
	// collecting appends for one transaction.
	DefaultGroupCommitDelay = 2 * time.Millisecond
	// DefaultMaxDeadLetters bounds the dead-letter bucket; the dead letters
	// with the lowest seqs are discarded beyond it.
	DefaultMaxDeadLetters = 1000
	// DefaultMaxDeadLetterBytes bounds the stored size of the dead-letter
	// bucket (see Options.MaxDeadLetterBytes).
	DefaultMaxDeadLetterBytes = 16 << 20
	// MinDefaultMaxFileSize is the smallest MaxFileSize derived from
	// MaxBytes when Options.MaxFileSize is zero.
	MinDefaultMaxFileSize = 64 << 20
	// MaxDefaultMaxFileSize caps the MaxFileSize derived from MaxBytes when
	// Options.MaxFileSize is zero. It keeps the file, and bbolt's memory
	// map of it, well below the ~512 MiB that a 32-bit ARM process can
	// usually map (bbolt doubles the map up to 1 GiB, and growing past
	// 512 MiB needs a contiguous 1 GiB of address space).
	MaxDefaultMaxFileSize = 256 << 20
	// FileSizeFactor is how many times MaxBytes the derived MaxFileSize
	// allows, for bbolt's page, freelist and copy-on-write overhead.
	FileSizeFactor = 4
	// MaxBoundedBytes is the largest MaxBytes for which the derived
	// MaxFileSize still holds a full queue in the worst case, so that the
	// byte and record bounds always act before the file-size backstop: a
	// record of just over half a page, or just over a page, takes twice
	// its size in pages, and bbolt grows the file 16 MiB ahead of the data
	// (2 × 96 MiB + 16 MiB leaves a margin below 256 MiB). Above it (or
	// with a smaller explicit MaxFileSize) the file can fill first; then
	// DropOldest drops the oldest records to make room (counted as
	// DropMaxFileSize) and Reject fails the append with ErrFull.
	MaxBoundedBytes = 96 << 20
)

// The queue's bytes are also bounded by fileUseNum/fileUseDen of
// MaxFileSize (3/8: what twice-the-size pages take leaves a quarter of the
// file for bbolt's growth step and its copy-on-write pages), so that the
// file never fills up so far that even a deletion finds no free page.
// MaxBoundedBytes is that fraction of MaxDefaultMaxFileSize.
const (
	fileUseNum = 3
	fileUseDen = 8
)

// Internal limits and tunables.
const (
	// maxQuarantined bounds the quarantine bucket; the oldest damaged
	// records are discarded beyond it (they stay counted).
	maxQuarantined = 1000
	// maxReasonLen is the longest dead-letter reason kept, in bytes.
	maxReasonLen = 1024
	// compactMinFileSize: a drained file smaller than this is never
	// compacted.
	compactMinFileSize = 1 << 20
	// compactFactor: a drained file is compacted when it is larger than
	// this many times its live data (dead letters and quarantine).
	compactFactor = 4
	// fillPercent is the records bucket's page fill on split: keys only
	// grow, so pages can be filled completely (bbolt's default, 0.5, would
	// leave every page half empty).
	fillPercent = 1.0
	// fileMode and dirMode are the permissions of a created file and
	// directory.
	fileMode = 0o600
	dirMode  = 0o700
	// noBootID as Options.bootIDPath makes the boot unknown.
	noBootID = "-"
)

// Overflow is what an append does when the queue is at one of its bounds.
type Overflow int

// Overflow policies.
const (
	// DropOldest deletes the oldest records until the new ones fit. Every
	// drop is counted in Stats.Drops by the bound that caused it.
	DropOldest Overflow = iota
	// Reject fails the append with ErrFull and keeps the queue as it is.
	Reject
)

// String returns "drop-oldest" or "reject", the names used in
// configuration files.
func (o Overflow) String() string {
	switch o {
	case DropOldest:
		return "drop-oldest"
	case Reject:
		return "reject"
	}
	return fmt.Sprintf("Overflow(%d)", int(o))
}

// GroupCommit bounds how appends share transactions. The committer takes
// the first waiting append and every append already queued; then, while
// fewer than MaxRecords records are collected and MaxDelay has not passed
// since the first append was submitted, it yields the processor to let
// producers that are ready to submit do so, and stops at the first yield
// that brings nothing. It then commits the group with one fsync. Appends
// submitted during a commit queue up for the next one, so busy producers
// share transactions without any timer: a lone producer pays no delay.
type GroupCommit struct {
	// MaxRecords is the most records one transaction collects (a single
	// AppendBatch may exceed it: its records are never split).
	// DefaultGroupCommitRecords when zero; 1 disables grouping.
	MaxRecords int
	// MaxDelay is the longest the committer keeps collecting appends for
	// one transaction. DefaultGroupCommitDelay when zero; negative means
	// never wait (commit whatever is queued as soon as the committer is
	// free, without yielding).
	MaxDelay time.Duration
}

// Options configure a Store. A nil *Options means the zero value, which is
// usable: every zero field takes its documented default. Open never
// modifies the caller's Options.
type Options struct {
	// MaxBytes bounds the queue's stored size: the sum over records of
	// len(data) + RecordOverhead. DefaultMaxBytes when zero. A single
	// record (or AppendBatch) larger than MaxBytes fails with ErrTooLarge.
	MaxBytes int64
	// MaxRecords bounds the number of queued records; zero means no bound.
	MaxRecords int
	// MaxAge drops records older than this (by their append time); zero
	// means records never expire. See the package documentation about
	// clocks.
	MaxAge time.Duration
	// Overflow is the policy at MaxBytes or MaxRecords; DropOldest by
	// default.
	Overflow Overflow
	// LockTimeout is how long Open waits for a file lock held by another
	// process before it fails with ErrLocked; DefaultLockTimeout when zero.
	LockTimeout time.Duration
	// GroupCommit bounds how appends share transactions.
	GroupCommit GroupCommit
	// MaxDeadLetters bounds the dead-letter bucket (the lowest seqs are
	// discarded beyond it, each counted in Stats.DeadLettersDiscarded and
	// logged); DefaultMaxDeadLetters when zero.
	MaxDeadLetters int
	// MaxDeadLetterBytes bounds the stored size of the dead-letter bucket
	// (key and value of each), like MaxDeadLetters;
	// DefaultMaxDeadLetterBytes when zero. The newest dead letter is kept
	// even if it alone is larger.
	MaxDeadLetterBytes int64
	// MaxFileSize is bbolt's MaxSize: a commit that would grow the file
	// past it fails (Append returns an error wrapping ErrFull). It is a
	// backstop behind MaxBytes. When zero it is FileSizeFactor*MaxBytes,
	// at least MinDefaultMaxFileSize and at most MaxDefaultMaxFileSize
	// (256 MiB with the default MaxBytes), which keeps 32-bit ARM well
	// below its ~512 MiB mapping ceiling. Negative means no limit. If you
	// raise MaxBytes above 64 MiB, raise MaxFileSize with it (and mind the
	// ceiling on 32-bit ARM).
	MaxFileSize int64
	// Clock returns the current time, for append times and MaxAge;
	// time.Now when nil. Tests inject a fake clock.
	Clock func() time.Time
	// OnCommit, when set, is called after each committed write
	// transaction with how long it took, its fsyncs included: for a
	// commit-latency histogram. It runs with the store's write lock held,
	// so it must be quick and must not call the store.
	OnCommit func(time.Duration)
	// Logger receives recoveries, quarantines, dead letters and
	// compactions; nothing is logged when nil.
	Logger *slog.Logger

	// bootIDPath is the file holding the current boot id;
	// defaultBootIDPath when empty, no file (boot unknown) when "-".
	// Tests inject their own.
	bootIDPath string
}

// config is Options with every default applied.
type config struct {
	maxBytes       uint64
	maxRecords     uint64 // 0: no bound
	maxAge         time.Duration
	overflow       Overflow
	lockTimeout    time.Duration
	groupRecords   int
	groupDelay     time.Duration // <= 0: never wait
	maxDeadLetters uint64
	maxDeadBytes   uint64
	maxFileSize    int    // bbolt MaxSize; 0: no limit
	fileBound      uint64 // fileUse of maxFileSize; 0: none
	clock          func() time.Time
	onCommit       func(time.Duration)
	log            *slog.Logger
	bootIDPath     string // "": boot unknown
}

// resolve validates opts and applies the defaults.
func resolve(opts *Options) (config, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	var errs []error
	if o.MaxBytes < 0 {
		errs = append(errs, errors.New("MaxBytes < 0"))
	}
	if o.MaxRecords < 0 {
		errs = append(errs, errors.New("MaxRecords < 0"))
	}
	if o.MaxAge < 0 {
		errs = append(errs, errors.New("MaxAge < 0"))
	}
	if o.Overflow != DropOldest && o.Overflow != Reject {
		errs = append(errs, fmt.Errorf("unknown Overflow %d", int(o.Overflow)))
	}
	if o.LockTimeout < 0 {
		errs = append(errs, errors.New("LockTimeout < 0"))
	}
	if o.GroupCommit.MaxRecords < 0 {
		errs = append(errs, errors.New("GroupCommit.MaxRecords < 0"))
	}
	if o.MaxDeadLetters < 0 {
		errs = append(errs, errors.New("MaxDeadLetters < 0"))
	}
	if o.MaxDeadLetterBytes < 0 {
		errs = append(errs, errors.New("MaxDeadLetterBytes < 0"))
	}
	if len(errs) > 0 {
		return config{}, fmt.Errorf("store: invalid options: %w", errors.Join(errs...))
	}

	c := config{
		maxBytes:       uint64(o.MaxBytes),
		maxRecords:     uint64(o.MaxRecords),
		maxAge:         o.MaxAge,
		overflow:       o.Overflow,
		lockTimeout:    o.LockTimeout,
		groupRecords:   o.GroupCommit.MaxRecords,
		groupDelay:     o.GroupCommit.MaxDelay,
		maxDeadLetters: uint64(o.MaxDeadLetters),
		maxDeadBytes:   uint64(o.MaxDeadLetterBytes),
		clock:          o.Clock,
		onCommit:       o.OnCommit,
		log:            o.Logger,
	}
	if c.maxBytes == 0 {
		c.maxBytes = DefaultMaxBytes
	}
	if c.lockTimeout == 0 {
		c.lockTimeout = DefaultLockTimeout
	}
	if c.groupRecords == 0 {
		c.groupRecords = DefaultGroupCommitRecords
	}
	if c.groupDelay == 0 {
		c.groupDelay = DefaultGroupCommitDelay
	}
	if c.maxDeadLetters == 0 {
		c.maxDeadLetters = DefaultMaxDeadLetters
	}
	if c.maxDeadBytes == 0 {
		c.maxDeadBytes = DefaultMaxDeadLetterBytes
	}
	c.maxFileSize = fileSizeLimit(o.MaxFileSize, c.maxBytes)
	c.fileBound = uint64(c.maxFileSize) / fileUseDen * fileUseNum
	if c.clock == nil {
		c.clock = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	switch o.bootIDPath {
	case "":
		c.bootIDPath = defaultBootIDPath
	case noBootID:
	default:
		c.bootIDPath = o.bootIDPath
	}
	return c, nil
}

// fileSizeLimit turns Options.MaxFileSize into bbolt's MaxSize (an int,
// 32 bits wide on ARM).
func fileSizeLimit(set int64, maxBytes uint64) int {
	switch {
	case set < 0:
		return 0
	case set > 0:
		return int(min(set, math.MaxInt))
	}
	limit := uint64(MaxDefaultMaxFileSize)
	if maxBytes <= limit/FileSizeFactor {
		limit = max(FileSizeFactor*maxBytes, MinDefaultMaxFileSize)
	}
	return int(limit)
}
