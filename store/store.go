package store

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Store is a durable FIFO queue of byte records in one bbolt file. Its
// methods are safe for concurrent use. Open it with Open and release the
// file with Close.
type Store struct {
	path     string
	cfg      config
	log      *slog.Logger
	recovery *Recovery

	// Appends go to the committer goroutine (batch.go).
	reqs        chan *appendReq
	quit        chan struct{} // closed by Close: flush and stop
	batcherDone chan struct{} // closed when the committer has returned

	// closeMu guards closed; submitters hold it shared while handing a
	// request to the committer, so none is left behind by Close.
	closeMu   sync.RWMutex
	closed    bool
	closeOnce sync.Once
	closeErr  error

	// wmu serializes write transactions and compaction. dbmu guards the db
	// handle, which compaction replaces: readers hold it shared; replacing
	// or closing db needs both wmu and dbmu.
	wmu  sync.Mutex
	dbmu sync.RWMutex
	db   *bolt.DB

	// The committed counters, published after each successful commit.
	statsMu sync.Mutex
	meta    meta
	oldest  time.Time // append time of the oldest record; zero when empty
	nextSeq uint64

	// reserved is the seq floor durably recorded in the sidecar file
	// (seqfloor.go): no seq above it is handed out. Guarded by wmu.
	reserved uint64
	// bootID identifies the current boot of the machine ("" when
	// unknown); it is recorded with every write of the sidecar.
	bootID string

	commits     atomic.Uint64
	compactions atomic.Uint64
	// syncs counts the fsyncs of the sidecar and of compactions
	// (Stats.Syncs adds those of the commits).
	syncs atomic.Uint64

	// failed is closed, with failErr set, when a commit failed on I/O
	// (failed.go): no write runs after that.
	failed   chan struct{}
	failOnce sync.Once
	failErr  error

	// waitCh is closed (and replaced) when records are appended.
	waitMu sync.Mutex
	waitCh chan struct{}
}

// errNoChange makes update roll back a transaction that changed nothing,
// which saves a commit and its fsyncs.
var errNoChange = errors.New("no change")

// Open opens the queue file at path, creating it (and its directory) if
// needed. A nil opts means the zero Options.
//
// If another process holds the file, Open fails with ErrLocked after
// Options.LockTimeout. If the file is damaged (bbolt refuses it, or it
// fails bbolt's consistency check), Open renames it to
// "<path>.corrupt-<UTC timestamp>", starts a fresh file, logs the event and
// reports it through Store.Recovery; it fails only if the fresh file cannot
// be created either. A file of a newer, unknown format is left untouched
// and Open fails with ErrIncompatible.
func Open(path string, opts *Options) (*Store, error) {
	cfg, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	log := cfg.log.With("path", path)
	db, rec, err := openFile(path, cfg, log)
	if err != nil {
		return nil, err
	}
	boot := readBootID(cfg.bootIDPath)
	side, hasFloor, err := readSeqFloor(path)
	unknown := err != nil
	if unknown {
		log.Warn("store: seq floor unreadable; the seqs skip one block ahead of the file's", "err", err)
	}
	floor, reserved := side.mark, side.mark
	if rec != nil {
		if old := damagedSeq(rec.Path); old > floor {
			log.Info("store: the set-aside file had handed out higher seqs; continuing above them", "seq", old, "floor", floor)
			floor = old
		}
	}
	s := &Store{
		path:        path,
		cfg:         cfg,
		log:         log,
		recovery:    rec,
		bootID:      boot,
		db:          db,
		reqs:        make(chan *appendReq, cfg.groupRecords),
		quit:        make(chan struct{}),
		batcherDone: make(chan struct{}),
		waitCh:      make(chan struct{}),
		failed:      make(chan struct{}),
	}
	sf := seqFloor{mark: floor, base: side.base, unknown: unknown,
		sameBoot: rec == nil && hasFloor && boot != "" && side.boot == boot}
	if err := s.init(sf); err != nil {
		_ = db.Close()
		return nil, err
	}
	// The sidecar must cover every seq the file has handed out; when it is
	// missing or behind (a copied or restored file), record the file's own.
	// When the file was trusted below the mark, the reservation stands.
	s.reserved = reserved
	if seq := s.lastSeq(); !hasFloor || reserved < seq {
		if err := writeSeqFloor(path, sidecar{mark: seq, base: seq, boot: boot}); err != nil {
			// Appends write it again before handing out a seq above it.
			log.Warn("store: could not record the seq floor", "err", err)
		} else {
			s.reserved = seq
		}
	}
	go s.runBatcher()

	s.wmu.Lock()
	s.maybeCompactLocked()
	s.wmu.Unlock()
	return s, nil
}

// init creates the buckets of a new file, checks the format version,
// raises the records sequence to the floor's mark if it is below and the
// file is not trusted (seqfloor.go), and recounts the live counters,
// repairing the stored ones if they drifted.
func (s *Store) init(floor seqFloor) error {
	var m meta
	var oldest time.Time
	var next uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		changed := false
		for _, name := range [][]byte{bucketRecords, bucketMeta, bucketDead, bucketQuarantine} {
			if tx.Bucket(name) == nil {
				if _, err := tx.CreateBucket(name); err != nil {
					return err
				}
				changed = true
			}
		}
		mb := tx.Bucket(bucketMeta)
		switch v := mb.Get(keyFormat); {
		case v == nil:
			if err := mb.Put(keyFormat, []byte{formatVersion}); err != nil {
				return err
			}
			changed = true
		case len(v) != 1 || v[0] > formatVersion:
			return fmt.Errorf("%w: format %v", ErrIncompatible, v)
		}

		if c, err := s.applySeqFloor(tx.Bucket(bucketRecords), floor); err != nil {
			return err
		} else if c {
			changed = true
		}

		live := recount(tx)
		if v := mb.Get(keyState); v == nil {
			changed = true
		} else if err := m.decode(v); err != nil {
			s.log.Warn("store: meta counters unreadable; recounted, cumulative counters reset", "err", err)
			changed = true
		} else if !sameLive(m, live) {
			s.log.Warn("store: meta counters disagreed with the data; recounted",
				"stored_count", m.count, "count", live.count, "stored_bytes", m.bytes, "bytes", live.bytes)
			changed = true
		}
		m.count, m.bytes = live.count, live.bytes
		m.deadCount, m.deadBytes = live.deadCount, live.deadBytes
		m.quarCount, m.quarBytes = live.quarCount, live.quarBytes
		oldest, next = headInfo(tx)
		if !changed {
			return errNoChange
		}
		return putMeta(tx, &m)
	})
	if err != nil && !errors.Is(err, errNoChange) {
		if errors.Is(err, ErrIncompatible) {
			return err
		}
		return fmt.Errorf("store: initialise %s: %w", s.path, commitError(err))
	}
	s.publish(m, oldest, next)
	return nil
}

// applySeqFloor raises the records sequence b to the floor's mark when it
// is below and the file is not trusted; it reports whether it did.
func (s *Store) applySeqFloor(b *bolt.Bucket, floor seqFloor) (bool, error) {
	seq := b.Sequence()
	if floor.unknown {
		s.log.Warn("store: continuing one block above the file's seq", "seq", seq, "next", seq+seqBlock+1)
		return true, b.SetSequence(seq + seqBlock)
	}
	if seq >= floor.mark {
		return false, nil
	}
	if floor.trustFile(seq) {
		s.log.Debug("store: stopped without Close during this boot; the file's seq continues without a gap",
			"seq", seq, "floor", floor.mark)
		return false, nil
	}
	if seq > 0 {
		s.log.Warn("store: the file's seq is behind the seq floor; continuing above the floor",
			"seq", seq, "floor", floor.mark, "same_boot", floor.sameBoot)
	}
	return true, b.SetSequence(floor.mark)
}

// headInfo returns the append time of the oldest record (zero when the
// queue is empty) and the next seq.
func headInfo(tx *bolt.Tx) (oldest time.Time, next uint64) {
	b := tx.Bucket(bucketRecords)
	if _, v := b.Cursor().First(); v != nil {
		oldest, _ = appendedTime(v)
	}
	return oldest, b.Sequence() + 1
}

// publish makes committed counters visible to Stats.
func (s *Store) publish(m meta, oldest time.Time, next uint64) {
	s.statsMu.Lock()
	s.meta, s.oldest, s.nextSeq = m, oldest, next
	s.statsMu.Unlock()
}

// update runs fn in a write transaction together with the counters, which
// fn updates in place and which are stored in the same transaction. fn
// may return errNoChange to roll back without error. When the transaction
// empties the queue, the file may be compacted before update returns.
func (s *Store) update(fn func(tx *bolt.Tx, m *meta) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.db == nil {
		return ErrClosed
	}
	if err := s.Err(); err != nil {
		return err
	}
	s.statsMu.Lock()
	m := s.meta
	s.statsMu.Unlock()
	before := m.count

	var oldest time.Time
	var next uint64
	began := time.Now()
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := fn(tx, &m); err != nil {
			return err
		}
		if err := putMeta(tx, &m); err != nil {
			return err
		}
		oldest, next = headInfo(tx)
		return nil
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	if err != nil {
		var ce *callerError
		if errors.As(err, &ce) {
			return ce.err
		}
		if poisons(err) {
			return s.fail(commitError(err))
		}
		return commitError(err)
	}
	s.commits.Add(1)
	if s.cfg.onCommit != nil {
		s.cfg.onCommit(time.Since(began))
	}
	s.publish(m, oldest, next)
	if before > 0 && m.count == 0 {
		s.maybeCompactLocked()
	}
	return nil
}

// callerError carries an error meant for the caller as is (not a commit
// failure) out of an update.
type callerError struct{ err error }

func (e *callerError) Error() string { return e.err.Error() }

// view runs fn in a read transaction.
func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	s.dbmu.RLock()
	defer s.dbmu.RUnlock()
	if s.db == nil {
		return ErrClosed
	}
	return s.db.View(fn)
}

// Wait returns a channel that is closed when records are appended after
// the call (or when the store is closed). Take it before Peek, then wait
// on it when Peek found nothing, so that an append in between is not
// missed.
func (s *Store) Wait() <-chan struct{} {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	return s.waitCh
}

// wake closes the current Wait channel; a new one is made unless the store
// is closing.
func (s *Store) wake(final bool) {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	select {
	case <-s.waitCh: // already closed for good
		return
	default:
	}
	close(s.waitCh)
	if !final {
		s.waitCh = make(chan struct{})
	}
}

// Close commits the appends already submitted, stops the committer and
// closes the file. It is idempotent; later calls return the first result.
// Calls made after Close fail with ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeMu.Lock()
		s.closed = true
		s.closeMu.Unlock()
		close(s.quit)
		<-s.batcherDone

		s.wmu.Lock()
		s.lowerSeqFloorLocked()
		s.dbmu.Lock()
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("store: close: %w", err)
		}
		s.db = nil
		s.dbmu.Unlock()
		s.wmu.Unlock()
		s.wake(true)
	})
	return s.closeErr
}

// lowerSeqFloorLocked, at Close, brings the seq floor down from the
// reserved block to the last seq handed out, so that a clean restart goes
// on without a gap. The caller holds wmu.
func (s *Store) lowerSeqFloorLocked() {
	seq := s.lastSeq()
	if s.reserved <= seq {
		return
	}
	if err := s.writeSeqFloor(sidecar{mark: seq, base: seq, boot: s.bootID}); err != nil {
		s.log.Warn("store: could not lower the seq floor at close; the next seqs will skip the reserved block", "err", err)
		return
	}
	s.reserved = seq
}

// lastSeq returns the last seq handed out (the committed bucket sequence).
func (s *Store) lastSeq() uint64 {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	return s.nextSeq - 1
}
