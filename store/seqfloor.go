package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The seq floor keeps seqs from ever going back, even when the bbolt file
// is lost (set aside as damaged, or deleted) or loses its last commits: the
// server dedupes on seq, so a reused seq would be acked as a duplicate and
// the record deleted unsent. A small sidecar file, "<path>.seq", holds a
// reserved high-water mark: no seq above it is ever handed out. Seqs are
// reserved in blocks of seqBlock (the mark is set one block above the
// last committed seq, or further for a larger group), so the sidecar is
// rewritten (atomically: temporary file, fsync, rename, directory fsync)
// about once per seqBlock records; Close lowers it to the last seq used,
// so that a clean restart leaves no gap.
//
// The sidecar also records the boot id of the machine when it was
// written, and a base: the last seq the file had committed when the mark
// was written (the mark itself after Close, or when Open records the
// file's own sequence). At Open a bucket sequence below the mark is
// raised to it (the next seqs skip ahead), unless the file can be
// trusted: it opened healthy (no recovery), its sequence is past the base
// and below the mark, and the sidecar was written during the current
// boot. Then the store was stopped by a process crash (kill -9, panic,
// OOM kill) and nothing it committed can have been lost, since the
// kernel's page cache held it, so the file's sequence goes on without a
// gap. A file at or below the base is older than the sidecar (a copy
// restored, in this boot or not): its seqs may have been handed out
// since. After a reboot (or when the boot is unknown) the file may have
// lost its last commits in a power cut, on storage that acknowledged an
// fsync it had not done, and those seqs may have been sent and acked
// already: the sequence is raised to the mark. A sidecar that exists but
// cannot be read makes the sequence skip one block ahead of the file's.
const (
	seqSuffix = ".seq"
	seqBlock  = 1 << 20
	// Sidecar content, version 3:
	// magic (4) | mark (8, BE) | base (8, BE) | boot id length (1) | boot id | CRC32C of all before (4, BE).
	// base is the last seq the file had committed when the mark was
	// written: the mark itself after a clean Close (or when Open records
	// the file's own sequence), the sequence before the group that needed
	// a new block otherwise.
	seqMagic       = "SEQ3"
	seqHeaderSize  = 21 // magic, mark, base and boot id length
	seqCRCSize     = 4
	seqMinFileSize = seqHeaderSize + seqCRCSize
	maxBootIDLen   = 255
	// Version 2 (read only; base unknown, taken as one block below the
	// mark): magic (4) | mark (8, BE) | boot id length (1) | boot id | CRC32C (4, BE).
	seqMagicV2      = "SEQ2"
	seqHeaderSizeV2 = 13
	// Version 1 (read only; the boot is unknown):
	// magic (4) | mark (8, BE) | CRC32C of the first 12 (4, BE).
	seqMagicV1    = "SEQ1"
	seqFileSizeV1 = 16
)

// sidecar is the content of the seq sidecar.
type sidecar struct {
	// mark: no seq above it has been handed out.
	mark uint64
	// base: the file had committed at least this seq when the mark was
	// written (a file below it is older than the sidecar).
	base uint64
	// boot is the boot id of the machine when it was written ("" unknown).
	boot string
}

func seqPath(path string) string { return path + seqSuffix }

// readBootID returns the current boot id read from path (trimmed), or ""
// (unknown) when path is empty, unreadable or holds something that is not
// a boot id.
func readBootID(path string) string {
	if path == "" {
		return ""
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	id := strings.TrimSpace(string(b))
	if len(id) > maxBootIDLen {
		return ""
	}
	return id
}

// readSeqFloor returns the sidecar of path; ok is false when there is
// none. An unreadable or malformed one is an error (the caller then
// skips a block ahead: the seqs it guarded are unknown).
func readSeqFloor(path string) (sc sidecar, ok bool, err error) {
	b, err := os.ReadFile(seqPath(path))
	if errors.Is(err, fs.ErrNotExist) {
		return sidecar{}, false, nil
	}
	if err != nil {
		return sidecar{}, false, err
	}
	sc, ok = parseSeqFloor(b)
	if !ok {
		return sidecar{}, false, fmt.Errorf("%s: malformed seq floor (%d bytes)", seqPath(path), len(b))
	}
	return sc, true, nil
}

// parseSeqFloor decodes sidecar content of any version.
func parseSeqFloor(b []byte) (sidecar, bool) {
	switch {
	case len(b) == seqFileSizeV1 && string(b[:4]) == seqMagicV1:
		if crc32.Checksum(b[:12], castagnoli) != binary.BigEndian.Uint32(b[12:]) {
			return sidecar{}, false
		}
		mark := binary.BigEndian.Uint64(b[4:])
		return sidecar{mark: mark, base: mark - min(mark, seqBlock)}, true
	case len(b) >= seqHeaderSizeV2+seqCRCSize && string(b[:4]) == seqMagicV2:
		end := seqHeaderSizeV2 + int(b[12])
		if len(b) != end+seqCRCSize ||
			crc32.Checksum(b[:end], castagnoli) != binary.BigEndian.Uint32(b[end:]) {
			return sidecar{}, false
		}
		mark := binary.BigEndian.Uint64(b[4:])
		return sidecar{mark: mark, base: mark - min(mark, seqBlock), boot: string(b[seqHeaderSizeV2:end])}, true
	case len(b) >= seqMinFileSize && string(b[:4]) == seqMagic:
		end := seqHeaderSize + int(b[20])
		if len(b) != end+seqCRCSize ||
			crc32.Checksum(b[:end], castagnoli) != binary.BigEndian.Uint32(b[end:]) {
			return sidecar{}, false
		}
		sc := sidecar{mark: binary.BigEndian.Uint64(b[4:]), base: binary.BigEndian.Uint64(b[12:]), boot: string(b[seqHeaderSize:end])}
		if sc.base > sc.mark {
			return sidecar{}, false
		}
		return sc, true
	}
	return sidecar{}, false
}

// encodeSeqFloor returns the sidecar content for sc, whose boot id
// readBootID keeps within maxBootIDLen.
func encodeSeqFloor(sc sidecar) []byte {
	boot := sc.boot
	if len(boot) > maxBootIDLen {
		boot = "" // unknown; never written by the store
	}
	end := seqHeaderSize + len(boot)
	b := make([]byte, end+seqCRCSize)
	copy(b, seqMagic)
	binary.BigEndian.PutUint64(b[4:], sc.mark)
	binary.BigEndian.PutUint64(b[12:], sc.base)
	b[20] = byte(len(boot))
	copy(b[seqHeaderSize:], boot)
	binary.BigEndian.PutUint32(b[end:], crc32.Checksum(b[:end], castagnoli))
	return b
}

// writeSeqFloor is the package function for the store's own sidecar,
// counting its two fsyncs (the file, its directory).
func (s *Store) writeSeqFloor(sc sidecar) error {
	if err := writeSeqFloor(s.path, sc); err != nil {
		return err
	}
	if !fsyncOff {
		s.syncs.Add(2)
	}
	return nil
}

// writeSeqFloor durably replaces the sidecar of path with sc.
func writeSeqFloor(path string, sc sidecar) error {
	b := encodeSeqFloor(sc)
	name := seqPath(path)
	tmp := name + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return fmt.Errorf("store: write seq floor: %w", err)
	}
	_, err = f.Write(b)
	if err == nil && !fsyncOff {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err == nil {
		err = syncDir(filepath.Dir(name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("store: write seq floor: %w", err)
	}
	return nil
}

// seqFloor is what Open found in the sidecar, for init.
type seqFloor struct {
	// mark is the floor: the file's sequence is raised to it unless the
	// file is trusted.
	mark uint64
	// base is the sidecar's base (see sidecar).
	base uint64
	// sameBoot: the sidecar was written during the current (known) boot
	// and the file opened healthy, so a crash cannot have lost commits.
	sameBoot bool
	// unknown: a sidecar exists but could not be read; the seqs it
	// guarded are unknown, so the file's sequence skips a block ahead.
	unknown bool
}

// trustFile reports whether a file whose records sequence is fileSeq
// (below the mark) keeps its sequence: only after a process crash within
// the current boot, with the file past the base the sidecar recorded with
// the mark. A file at or below the base is older than the sidecar (a copy
// restored, or the file of a clean Close, where base and mark are the
// same): its seqs may have been handed out since.
func (f seqFloor) trustFile(fileSeq uint64) bool {
	return f.sameBoot && fileSeq > f.base && fileSeq < f.mark
}

// damagedSeq reads, best effort, the highest seq a damaged (set-aside)
// file had handed out: its records bucket sequence, or its last key if
// that is larger. Any failure, fault or panic yields 0.
func damagedSeq(path string) (seq uint64) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var db *bolt.DB
	defer func() {
		if r := recover(); r != nil {
			seq = 0
		}
		if db != nil {
			closeQuietly(db)
		}
	}()
	// A truncated file can fault when a page past its end is read: the
	// fault becomes a panic, recovered above.
	db, err := bolt.Open(path, fileMode, &bolt.Options{ReadOnly: true, Timeout: 100 * time.Millisecond})
	if err != nil {
		db = nil
		return 0
	}
	_ = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRecords)
		if b == nil {
			return nil
		}
		seq = b.Sequence()
		if k, _ := b.Cursor().Last(); len(k) == 8 {
			seq = max(seq, binary.BigEndian.Uint64(k))
		}
		return nil
	})
	return seq
}

// reserveSeqs raises the durable seq floor before n seqs are handed out
// from b, when they would cross it: the new mark is one block above the
// committed sequence (or just enough for a larger group), so that a crash
// leaves the file at most one block below it, and the base is that
// sequence, so that the next Open can tell this file from an older copy.
// The caller is in a write transaction (wmu held).
func (s *Store) reserveSeqs(b *bolt.Bucket, n uint64) error {
	if b.Sequence()+n <= s.reserved {
		return nil
	}
	mark := b.Sequence() + max(n, seqBlock)
	if err := s.writeSeqFloor(sidecar{mark: mark, base: b.Sequence(), boot: s.bootID}); err != nil {
		return err
	}
	s.reserved = mark
	return nil
}
