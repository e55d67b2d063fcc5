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
// written. At Open a bucket sequence below the mark is raised to it (the
// next seqs skip ahead), unless the file can be trusted: it opened
// healthy (no recovery), its sequence is above zero and at most one block
// below the mark, and the sidecar was written during the current boot.
// Then the store was stopped by a process crash (kill -9, panic, OOM
// kill) and nothing it committed can have been lost, since the kernel's
// page cache held it, so the file's sequence goes on without a gap. After
// a reboot (or when the boot is unknown) the file may have lost its last
// commits in a power cut, on storage that acknowledged an fsync it had
// not done, and those seqs may have been sent and acked already: the
// sequence is raised to the mark.
const (
	seqSuffix = ".seq"
	seqBlock  = 1 << 20
	// Sidecar content, version 2:
	// magic (4) | mark (8, BE) | boot id length (1) | boot id | CRC32C of all before (4, BE).
	seqMagic       = "SEQ2"
	seqHeaderSize  = 13 // magic, mark and boot id length
	seqCRCSize     = 4
	seqMinFileSize = seqHeaderSize + seqCRCSize
	maxBootIDLen   = 255
	// Version 1 (read only; the boot is unknown):
	// magic (4) | mark (8, BE) | CRC32C of the first 12 (4, BE).
	seqMagicV1    = "SEQ1"
	seqFileSizeV1 = 16
)

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

// readSeqFloor returns the mark in the sidecar of path and the boot id
// recorded with it ("" when unknown); ok is false when there is none
// (missing or unreadable, which is logged by the caller).
func readSeqFloor(path string) (mark uint64, boot string, ok bool, err error) {
	b, err := os.ReadFile(seqPath(path))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, "", false, nil
	}
	if err != nil {
		return 0, "", false, err
	}
	mark, boot, ok = parseSeqFloor(b)
	if !ok {
		return 0, "", false, fmt.Errorf("%s: malformed seq floor (%d bytes)", seqPath(path), len(b))
	}
	return mark, boot, true, nil
}

// parseSeqFloor decodes sidecar content of either version.
func parseSeqFloor(b []byte) (mark uint64, boot string, ok bool) {
	switch {
	case len(b) == seqFileSizeV1 && string(b[:4]) == seqMagicV1:
		if crc32.Checksum(b[:12], castagnoli) != binary.BigEndian.Uint32(b[12:]) {
			return 0, "", false
		}
		return binary.BigEndian.Uint64(b[4:]), "", true
	case len(b) >= seqMinFileSize && string(b[:4]) == seqMagic:
		end := seqHeaderSize + int(b[12])
		if len(b) != end+seqCRCSize ||
			crc32.Checksum(b[:end], castagnoli) != binary.BigEndian.Uint32(b[end:]) {
			return 0, "", false
		}
		return binary.BigEndian.Uint64(b[4:]), string(b[seqHeaderSize:end]), true
	}
	return 0, "", false
}

// encodeSeqFloor returns the sidecar content for mark and boot, which
// readBootID keeps within maxBootIDLen.
func encodeSeqFloor(mark uint64, boot string) []byte {
	if len(boot) > maxBootIDLen {
		boot = "" // unknown; never written by the store
	}
	end := seqHeaderSize + len(boot)
	b := make([]byte, end+seqCRCSize)
	copy(b, seqMagic)
	binary.BigEndian.PutUint64(b[4:], mark)
	b[12] = byte(len(boot))
	copy(b[seqHeaderSize:], boot)
	binary.BigEndian.PutUint32(b[end:], crc32.Checksum(b[:end], castagnoli))
	return b
}

// writeSeqFloor durably replaces the sidecar of path with mark, recorded
// during the boot boot.
func writeSeqFloor(path string, mark uint64, boot string) error {
	b := encodeSeqFloor(mark, boot)
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
	// sameBoot: the sidecar was written during the current (known) boot
	// and the file opened healthy, so a crash cannot have lost commits.
	sameBoot bool
}

// trustFile reports whether a file whose records sequence is fileSeq
// (below the mark) keeps its sequence: only after a process crash within
// the current boot, with the file's sequence at most one reserved block
// below the mark (a larger gap means an older file, e.g. one restored
// from a copy, whose seqs may have been handed out since).
func (f seqFloor) trustFile(fileSeq uint64) bool {
	return f.sameBoot && fileSeq > 0 && fileSeq < f.mark && f.mark-fileSeq <= seqBlock
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
