package store

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"

	berrors "go.etcd.io/bbolt/errors"
)

// ErrFailed is returned by every write after a commit failed on I/O (a
// failed fsync, or a write error other than a full disk). Such a failure
// cannot be undone on the open handle: after a failed fsync Linux marks
// the unwritten pages clean, so the page cache can show a commit the disk
// does not hold, and a later commit would build on it. The store stops
// writing; Failed is closed, and the process should close the store and
// open it again (the agent exits for systemd to restart it). Open drops
// the file's cached pages first, so that it reads what the disk holds.
// Every record whose Append returned before the failure is kept.
var ErrFailed = errors.New("store: a commit failed on I/O; close and reopen the store")

// Failed returns a channel that is closed when the store stops writing
// after an I/O failure (see ErrFailed); Err then returns the cause.
func (s *Store) Failed() <-chan struct{} { return s.failed }

// Err returns nil, or the error that made the store stop writing (it
// wraps ErrFailed and the I/O error).
func (s *Store) Err() error {
	select {
	case <-s.failed:
		return s.failErr
	default:
		return nil
	}
}

// fail stops writes for good after cause; the first cause is kept.
func (s *Store) fail(cause error) error {
	s.failOnce.Do(func() {
		s.failErr = fmt.Errorf("%w: %w", ErrFailed, cause)
		s.log.Error("store: a commit failed on I/O; no more writes on this handle: close and reopen the store", "err", cause)
		close(s.failed)
	})
	return s.failErr
}

// poisons reports whether a failed write transaction leaves the handle
// unusable: any I/O error except a write refused for lack of space (the
// commit wrote nothing durable then, and bbolt rolled back) and the
// errors that are not about I/O at all.
func poisons(err error) bool {
	switch {
	case errors.Is(err, errNoChange),
		errors.Is(err, berrors.ErrMaxSizeReached),
		errors.Is(err, berrors.ErrDatabaseNotOpen),
		errors.Is(err, berrors.ErrTxClosed):
		return false
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Op == "write" && errors.Is(err, syscall.ENOSPC) {
		return false
	}
	// bbolt formats a failed file resize with %s, losing the errno: a
	// resize that found no space changed nothing.
	if strings.Contains(err.Error(), "file resize error") && strings.Contains(err.Error(), syscall.ENOSPC.Error()) {
		return false
	}
	return true
}
