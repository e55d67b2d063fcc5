package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Bucket and key names (see the package documentation).
var (
	bucketRecords    = []byte("records")
	bucketMeta       = []byte("meta")
	bucketDead       = []byte("deadletter")
	bucketQuarantine = []byte("quarantine")

	keyFormat = []byte("format")
	keyState  = []byte("state")
)

// formatVersion is the file format this package writes. A file with a
// larger one is refused with ErrIncompatible.
const formatVersion = 1

// Meta "state" value: version (2) then metaFields big-endian uint64s.
// Version 1, without the last three dead-letter counters and the
// file-size drops, is still read.
const (
	metaVersion   = 2
	metaFields    = 15
	metaSize      = 1 + 8*metaFields
	metaV1Fields  = 11
	metaV1Size    = 1 + 8*metaV1Fields
	metaVersionV1 = 1
)

// meta is the counter record kept in the meta bucket and updated in the
// same transaction as every change, so that Stats needs no scan.
type meta struct {
	count     uint64 // records queued
	bytes     uint64 // their stored size (storedSize of each)
	drops     Drops  // records dropped by a bound, since the file was created
	deadCount uint64 // dead letters kept
	deadBytes uint64 // their stored size (key + value)
	deadTotal uint64 // records dead-lettered, since the file was created
	quarCount uint64 // damaged records kept in quarantine
	quarBytes uint64 // their stored size (key + value)
	quarTotal uint64 // records quarantined, since the file was created

	deadDiscarded uint64 // dead letters deleted by a dead-letter bound
	deadDropped   uint64 // dead letters deleted by DropDeadLetter
	deadRequeued  uint64 // dead letters put back by RequeueDeadLetter
}

// fields lists the persisted counters in their on-disk order.
func (m *meta) fields() [metaFields]*uint64 {
	return [metaFields]*uint64{
		&m.count, &m.bytes,
		&m.drops.MaxBytes, &m.drops.MaxRecords, &m.drops.MaxAge,
		&m.deadCount, &m.deadBytes, &m.deadTotal,
		&m.quarCount, &m.quarBytes, &m.quarTotal,
		&m.deadDiscarded, &m.deadDropped, &m.deadRequeued,
		&m.drops.MaxFileSize,
	}
}

func (m *meta) encode() []byte {
	v := make([]byte, metaSize)
	v[0] = metaVersion
	for i, f := range m.fields() {
		binary.BigEndian.PutUint64(v[1+8*i:], *f)
	}
	return v
}

func (m *meta) decode(v []byte) error {
	n := metaFields
	switch {
	case len(v) == metaSize && v[0] == metaVersion:
	case len(v) == metaV1Size && v[0] == metaVersionV1:
		n = metaV1Fields
	default:
		return fmt.Errorf("meta state of %d bytes, version %d", len(v), firstByte(v))
	}
	*m = meta{}
	fields := m.fields()
	for i, f := range fields[:n] {
		*f = binary.BigEndian.Uint64(v[1+8*i:])
	}
	return nil
}

func firstByte(v []byte) int {
	if len(v) == 0 {
		return -1
	}
	return int(v[0])
}

func putMeta(tx *bolt.Tx, m *meta) error {
	return tx.Bucket(bucketMeta).Put(keyState, m.encode())
}

// sub subtracts n from a counter without wrapping below zero (the
// counters are repaired at Open if a damaged file ever made them drift).
func sub(c *uint64, n uint64) {
	if *c < n {
		*c = 0
		return
	}
	*c -= n
}

// recount scans the buckets and returns the live counters (count, bytes
// and the dead-letter and quarantine sizes); the cumulative ones are left
// zero. It reads every key and value, which also proves every page of the
// file readable.
func recount(tx *bolt.Tx) meta {
	var m meta
	scan := func(name []byte, n, size *uint64) {
		_ = tx.Bucket(name).ForEach(func(k, v []byte) error {
			*n++
			*size += uint64(len(k) + len(v))
			return nil
		})
	}
	scan(bucketRecords, &m.count, &m.bytes)
	scan(bucketDead, &m.deadCount, &m.deadBytes)
	scan(bucketQuarantine, &m.quarCount, &m.quarBytes)
	return m
}

// sameLive reports whether the live counters of a and b agree.
func sameLive(a, b meta) bool {
	return a.count == b.count && a.bytes == b.bytes &&
		a.deadCount == b.deadCount && a.deadBytes == b.deadBytes &&
		a.quarCount == b.quarCount && a.quarBytes == b.quarBytes
}
