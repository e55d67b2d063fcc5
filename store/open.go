package store

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Quarantine naming: "<path>.corrupt-20060102T150405Z" (UTC), with "-N"
// added when that name is taken.
const (
	corruptSuffix     = ".corrupt-"
	corruptTimeFormat = "20060102T150405Z"
	maxCorruptNames   = 1000
	// compactSuffix names the temporary file of a compaction; a leftover
	// one (from a crash during compaction) is removed at Open.
	compactSuffix = ".compact.tmp"
	// maxCheckErrors is how many consistency errors are reported.
	maxCheckErrors = 5
)

// boltOptions are the bbolt options the store always uses.
func boltOptions(cfg config) *bolt.Options {
	return &bolt.Options{
		Timeout:      cfg.lockTimeout,
		FreelistType: bolt.FreelistMapType,
		MaxSize:      cfg.maxFileSize,
		NoSync:       fsyncOff,
		NoGrowSync:   fsyncOff,
	}
}

// openFile opens and checks the bbolt file at path. A damaged file is set
// aside and replaced by a fresh one, described by the returned Recovery.
func openFile(path string, cfg config, log *slog.Logger) (*bolt.DB, *Recovery, error) {
	dir := filepath.Dir(path)
	if err := mkdirAll(dir); err != nil {
		return nil, nil, fmt.Errorf("store: create directory: %w", err)
	}
	db, err := openChecked(path, cfg)
	if err == nil {
		return db, nil, nil
	}
	if boltTimeout(err) {
		return nil, nil, fmt.Errorf("%w (%s, waited %v): %w", ErrLocked, path, cfg.lockTimeout, err)
	}
	if !isCorruption(err) {
		return nil, nil, fmt.Errorf("store: open %s: %w", path, err)
	}

	rec := &Recovery{Err: fmt.Errorf("%w: %w", ErrCorrupt, err), At: cfg.clock()}
	rec.Path, err = quarantineFile(path, rec.At)
	if err != nil {
		return nil, nil, fmt.Errorf("store: %s is damaged (%v) and could not be set aside: %w", path, rec.Err, err)
	}
	log.Error("store: database file damaged; set aside, starting a fresh one (queued records are in the set-aside file)",
		"err", rec.Err, "quarantined", rec.Path)

	db, err = openChecked(path, cfg)
	if err != nil {
		if boltTimeout(err) {
			err = fmt.Errorf("%w: %w", ErrLocked, err)
		}
		return nil, nil, fmt.Errorf("store: start a fresh file after setting aside %s: %w", rec.Path, err)
	}
	return db, rec, nil
}

// errReplaced: the file locked was renamed away (by a compaction of
// another Store) while Open waited for its lock.
var errReplaced = errors.New("the file was replaced while waiting for its lock")

// openChecked is openCheckedOnce, tried again while the file it locked
// turns out to have been replaced meanwhile: a compaction in the process
// holding the lock renames a new file over path and only then unlocks the
// old one, so a waiter would otherwise lock and use an orphaned file. The
// retries share cfg.lockTimeout.
func openChecked(path string, cfg config) (*bolt.DB, error) {
	deadline := time.Now().Add(cfg.lockTimeout)
	for {
		c := cfg
		c.lockTimeout = max(time.Until(deadline), time.Millisecond)
		db, err := openCheckedOnce(path, c)
		if !errors.Is(err, errReplaced) {
			return db, err
		}
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("%w (%w)", berrors.ErrTimeout, err)
		}
	}
}

// openCheckedOnce opens path with bbolt and verifies it: the file must hold
// every page its meta page counts, every bucket, key and value must be
// readable, and bbolt's consistency check must pass. A fault or panic
// while reading a damaged file is turned into a corruptError, not a crash.
// A file created by the call is made durable in its directory.
func openCheckedOnce(path string, cfg config) (db *bolt.DB, err error) {
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, fs.ErrNotExist)

	if err := preflight(path); err != nil {
		return nil, err
	}
	dropCache(path)

	// bbolt.Open does not return its handle when it panics; keep the file
	// it opened so that its descriptor (and lock) can be released. Its
	// memory map cannot: preflight and the checks below keep that rare.
	var file *os.File
	bopts := boltOptions(cfg)
	bopts.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = &corruptError{fmt.Errorf("reading the file failed: %v", r)}
			if db != nil {
				closeQuietly(db)
				db = nil
			} else if file != nil {
				_ = file.Close()
			}
		}
	}()

	db, err = bolt.Open(path, fileMode, bopts)
	if err != nil {
		return nil, err
	}
	// The lock is on the file opened, which may no longer be the one at
	// path (see openChecked).
	if fi, err := os.Stat(path); err == nil {
		if ofi, err := file.Stat(); err == nil && !os.SameFile(fi, ofi) {
			_ = db.Close()
			return nil, errReplaced
		}
	} else if errors.Is(err, fs.ErrNotExist) {
		_ = db.Close()
		return nil, errReplaced
	}
	if err := verify(db, path); err != nil {
		closeQuietly(db)
		return nil, &corruptError{err}
	}
	if created {
		if err := syncDir(filepath.Dir(path)); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	// A leftover from a compaction interrupted by a crash; the lock we now
	// hold means no compaction is running.
	_ = os.Remove(path + compactSuffix)
	return db, nil
}

// verify checks an opened file (see openChecked).
func verify(db *bolt.DB, path string) error {
	return db.View(func(tx *bolt.Tx) error {
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		if fi.Size() < tx.Size() {
			return fmt.Errorf("file truncated: %d bytes, meta page says %d", fi.Size(), tx.Size())
		}
		// Touch every page through the public API first, in this
		// goroutine, where a fault on a wild page id becomes a panic we
		// recover. tx.Check runs in its own goroutine, where it would be
		// fatal.
		if err := tx.ForEach(func(_ []byte, b *bolt.Bucket) error {
			return b.ForEach(func(_, _ []byte) error { return nil })
		}); err != nil {
			return err
		}
		var errs []error
		for err := range tx.Check() {
			if len(errs) < maxCheckErrors {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("consistency check: %w", errors.Join(errs...))
		}
		return nil
	})
}

// closeQuietly closes a bbolt handle on a file that may be damaged.
func closeQuietly(db *bolt.DB) {
	defer func() { _ = recover() }()
	_ = db.Close()
}

// quarantineFile renames the damaged file at path out of the way and
// returns its new name.
func quarantineFile(path string, at time.Time) (string, error) {
	base := path + corruptSuffix + at.UTC().Format(corruptTimeFormat)
	name := base
	for i := 1; ; i++ {
		if _, err := os.Lstat(name); errors.Is(err, fs.ErrNotExist) {
			break
		}
		if i == maxCorruptNames {
			return "", fmt.Errorf("no free name for %s", base)
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
	if err := os.Rename(path, name); err != nil {
		return "", err
	}
	return name, syncDir(filepath.Dir(path))
}

// mkdirAll creates dir and its missing parents, fsyncing the parent of
// each directory it creates so that the new entries are durable.
func mkdirAll(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, dirMode); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return err
	}
	return syncDir(parent)
}

// syncDir fsyncs a directory, making created, renamed and removed entries
// durable.
func syncDir(dir string) error {
	if fsyncOff {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
