package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt on-disk format (go.etcd.io/bbolt internal/common: page.go,
// meta.go, types.go), version 2. Pages 0 and 1 hold the two meta copies:
// a 16-byte page header, then magic, version, pageSize, flags (uint32),
// root bucket (pgid, sequence), freelist pgid, high-water pgid, txid and a
// FNV-64a checksum of everything before it (uint64), in native byte order
// (little endian on every target of this project).
const (
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	boltPageHeader  = 16
	boltMetaSumOff  = 56 // offset of the checksum within the meta
	boltMetaLen     = boltMetaSumOff + 8
	boltMinPageSize = 1024
)

// preflight rejects a file that is shorter than its own meta page says,
// before bbolt maps it: bbolt would read the missing pages through its
// memory map and fault (SIGBUS). Truncation is the usual way a file is
// damaged by a full disk or a bad copy. A file whose meta pages cannot be
// read or validated here is left for bbolt to judge.
func preflight(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // bbolt reports it (or creates the file)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return nil
	}
	var best *boltMeta
	m0, ok := readBoltMeta(f, 0)
	if ok {
		best = &m0
		if m1, ok := readBoltMeta(f, int64(m0.pageSize)); ok && m1.txid > m0.txid {
			best = &m1
		}
	}
	if best == nil {
		return nil
	}
	if need := int64(best.pgid) * int64(best.pageSize); need > fi.Size() || best.pgid > 1<<40 {
		return &corruptError{fmt.Errorf("file truncated: %d bytes, meta page (txid %d) says %d", fi.Size(), best.txid, need)}
	}
	return nil
}

type boltMeta struct {
	pageSize uint32
	pgid     uint64
	txid     uint64
}

// readBoltMeta reads and validates the meta page at off.
func readBoltMeta(f *os.File, off int64) (boltMeta, bool) {
	buf := make([]byte, boltPageHeader+boltMetaLen)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return boltMeta{}, false
	}
	m := buf[boltPageHeader:]
	le := binary.LittleEndian
	if le.Uint32(m[0:]) != boltMagic || le.Uint32(m[4:]) != boltVersion {
		return boltMeta{}, false
	}
	h := fnv.New64a()
	_, _ = h.Write(m[:boltMetaSumOff])
	if h.Sum64() != le.Uint64(m[boltMetaSumOff:]) {
		return boltMeta{}, false
	}
	meta := boltMeta{pageSize: le.Uint32(m[8:]), pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}
	if meta.pageSize < boltMinPageSize {
		return boltMeta{}, false
	}
	return meta, true
}
