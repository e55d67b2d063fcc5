package store

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	berrors "go.etcd.io/bbolt/errors"
)

// Errors returned by Open.
var (
	// ErrLocked means another process (or another Store in this process)
	// holds the file lock and did not release it within
	// Options.LockTimeout. It wraps bbolt's timeout error.
	ErrLocked = errors.New("store: database file is locked by another process")
	// ErrIncompatible means the file was written by a newer version of
	// this package, with a format this one does not know. The file is left
	// untouched.
	ErrIncompatible = errors.New("store: file format is newer than this version supports")
	// ErrCorrupt is wrapped by Recovery.Err: the file could not be opened,
	// or failed its consistency check, and was set aside.
	ErrCorrupt = errors.New("store: damaged database file")
)

// Errors returned by Append and AppendBatch. Whenever one of them is
// returned, none of the call's records was stored.
var (
	// ErrFull means the queue is at MaxBytes or MaxRecords under the
	// Reject policy, or the file reached Options.MaxFileSize.
	ErrFull = errors.New("store: queue full")
	// ErrTooLarge means the record (or the batch) can never fit: it is
	// larger than MaxBytes, or has more records than MaxRecords.
	ErrTooLarge = errors.New("store: record larger than the queue bounds")
	// ErrDiskFull means the file system ran out of space (ENOSPC) while
	// committing. It wraps syscall.ENOSPC. The store stays consistent and
	// appends succeed again once space is freed.
	ErrDiskFull = fmt.Errorf("store: disk full: %w", syscall.ENOSPC)
)

// Errors returned by several methods.
var (
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("store: closed")
	// ErrNotFound is returned by DeadLetter for a seq that is not queued,
	// and by the dead-letter methods for a seq that is no dead letter.
	ErrNotFound = errors.New("store: no such record")
)

// commitError classifies an error from a write transaction.
func commitError(err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	case strings.Contains(err.Error(), syscall.ENOSPC.Error()):
		// bbolt formats some I/O errors with %s (e.g. "file resize
		// error"), which loses the errno.
		return fmt.Errorf("%w: %v", ErrDiskFull, err)
	case errors.Is(err, berrors.ErrMaxSizeReached):
		return fmt.Errorf("%w: file reached MaxFileSize: %w", ErrFull, err)
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return ErrClosed
	}
	return fmt.Errorf("store: commit: %w", err)
}

// isCorruption reports whether an Open error means the file is damaged
// (as opposed to locked, unreadable or on a full or read-only disk).
func isCorruption(err error) bool {
	var ce *corruptError
	return errors.As(err, &ce) ||
		errors.Is(err, berrors.ErrInvalid) ||
		errors.Is(err, berrors.ErrChecksum) ||
		errors.Is(err, berrors.ErrVersionMismatch) ||
		errors.Is(err, berrors.ErrInvalidMapping)
}

// corruptError marks a file found damaged by this package (a failed
// consistency check, a truncated file, a fault while reading it).
type corruptError struct{ err error }

func (e *corruptError) Error() string { return e.err.Error() }
func (e *corruptError) Unwrap() error { return e.err }

// boltTimeout reports whether err is bbolt's lock timeout.
func boltTimeout(err error) bool { return errors.Is(err, berrors.ErrTimeout) }
