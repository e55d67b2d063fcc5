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
	"time"

	bolt "go.etcd.io/bbolt"
)

// The seq floor keeps seqs from ever going back, even when the bbolt file
// is lost (set aside as damaged, or deleted): the server dedupes on seq,
// so a reused seq would be acked as a duplicate and the record deleted
// unsent. A small sidecar file, "<path>.seq", holds a reserved high-water
// mark: no seq above it is ever handed out. Seqs are reserved in blocks of
// seqBlock, so the sidecar is rewritten (atomically: temporary file,
// fsync, rename, directory fsync) about once per seqBlock records; Close
// lowers it to the last seq used, so that a clean restart leaves no gap.
// At Open a bucket sequence below the mark (a fresh file, or one that
// lost its last commits) is raised to it.
const (
	seqSuffix = ".seq"
	seqBlock  = 1 << 20
	// Sidecar content: magic (4) | mark (8, BE) | CRC32C of the first 12 (4, BE).
	seqMagic    = "SEQ1"
	seqFileSize = 16
)

func seqPath(path string) string { return path + seqSuffix }

// readSeqFloor returns the mark in the sidecar of path; ok is false when
// there is none (missing or unreadable, which is logged by the caller).
func readSeqFloor(path string) (mark uint64, ok bool, err error) {
	b, err := os.ReadFile(seqPath(path))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if len(b) != seqFileSize || string(b[:4]) != seqMagic ||
		crc32.Checksum(b[:12], castagnoli) != binary.BigEndian.Uint32(b[12:]) {
		return 0, false, fmt.Errorf("%s: malformed seq floor (%d bytes)", seqPath(path), len(b))
	}
	return binary.BigEndian.Uint64(b[4:]), true, nil
}

// writeSeqFloor durably replaces the sidecar of path with mark.
func writeSeqFloor(path string, mark uint64) error {
	b := make([]byte, seqFileSize)
	copy(b, seqMagic)
	binary.BigEndian.PutUint64(b[4:], mark)
	binary.BigEndian.PutUint32(b[12:], crc32.Checksum(b[:12], castagnoli))
	name := seqPath(path)
	tmp := name + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return fmt.Errorf("store: write seq floor: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
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
