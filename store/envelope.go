package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// Record envelope layout (see the package documentation).
const (
	envelopeVersion = 1
	keySize         = 8
	crcSize         = 4
	// envelopeHeader: version (1), seq (8), appended Unix ns (8).
	envelopeHeader = 1 + 8 + 8
)

// RecordOverhead is what a record costs on top of its data when the store
// counts bytes (Stats.Bytes, Options.MaxBytes): the 8-byte key, the
// envelope header and the checksum (29 bytes). bbolt's own page overhead
// comes on top and is bounded by Options.MaxFileSize.
const RecordOverhead = keySize + envelopeHeader + crcSize

// Dead-letter envelope layout: version (1), dead-lettered Unix ns (8),
// reason length (2), reason, the record envelope as it was queued, CRC32C (4).
const (
	deadVersion = 1
	deadHeader  = 1 + 8 + 2
)

// castagnoli is the CRC32C table; it is never modified.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errDamaged is wrapped by every envelope decoding failure.
var errDamaged = errors.New("damaged record")

// Record is one queued record.
type Record struct {
	// Seq is the record's sequence number: unique, increasing, never
	// reused, stable across restarts.
	Seq uint64
	// Data is a copy of the appended bytes; the caller may keep it.
	Data []byte
	// Appended is when the record was committed (Options.Clock).
	Appended time.Time
}

// DeadRecord is a record moved to the dead-letter bucket by DeadLetter.
type DeadRecord struct {
	Record
	// Reason is the reason given to DeadLetter (at most 1 KiB kept).
	Reason string
	// DeadLettered is when DeadLetter was called (Options.Clock).
	DeadLettered time.Time
}

// seqKey returns the bucket key of seq: 8 bytes, big endian, so that
// cursor order is seq order.
func seqKey(seq uint64) []byte {
	k := make([]byte, keySize)
	binary.BigEndian.PutUint64(k, seq)
	return k
}

// keySeq is the inverse of seqKey; ok is false for a key of the wrong size.
func keySeq(k []byte) (seq uint64, ok bool) {
	if len(k) != keySize {
		return 0, false
	}
	return binary.BigEndian.Uint64(k), true
}

// storedSize is what a record of n data bytes counts towards MaxBytes.
func storedSize(n int) uint64 { return uint64(n) + RecordOverhead }

// encodeRecord returns the envelope of one record.
func encodeRecord(seq uint64, appended time.Time, data []byte) []byte {
	v := make([]byte, envelopeHeader+len(data)+crcSize)
	v[0] = envelopeVersion
	binary.BigEndian.PutUint64(v[1:9], seq)
	binary.BigEndian.PutUint64(v[9:17], uint64(appended.UnixNano()))
	copy(v[envelopeHeader:], data)
	end := len(v) - crcSize
	binary.BigEndian.PutUint32(v[end:], crc32.Checksum(v[:end], castagnoli))
	return v
}

// decodeRecord checks the envelope v stored under key k and returns its
// record. Data aliases v (which bbolt owns): copy it before the
// transaction ends.
func decodeRecord(k, v []byte) (Record, error) {
	seq, ok := keySeq(k)
	if !ok {
		return Record{}, fmt.Errorf("%w: key of %d bytes", errDamaged, len(k))
	}
	if len(v) < envelopeHeader+crcSize {
		return Record{}, fmt.Errorf("%w: seq %d: %d bytes", errDamaged, seq, len(v))
	}
	if v[0] != envelopeVersion {
		return Record{}, fmt.Errorf("%w: seq %d: envelope version %d", errDamaged, seq, v[0])
	}
	end := len(v) - crcSize
	if crc32.Checksum(v[:end], castagnoli) != binary.BigEndian.Uint32(v[end:]) {
		return Record{}, fmt.Errorf("%w: seq %d: checksum mismatch", errDamaged, seq)
	}
	if got := binary.BigEndian.Uint64(v[1:9]); got != seq {
		return Record{}, fmt.Errorf("%w: seq %d: envelope says seq %d", errDamaged, seq, got)
	}
	return Record{
		Seq:      seq,
		Data:     v[envelopeHeader:end],
		Appended: time.Unix(0, int64(binary.BigEndian.Uint64(v[9:17]))),
	}, nil
}

// appendedTime reads the append time of an envelope without checking it;
// ok is false when v is too short to hold one.
func appendedTime(v []byte) (t time.Time, ok bool) {
	if len(v) < envelopeHeader+crcSize || v[0] != envelopeVersion {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(v[9:17]))), true
}

// encodeDead wraps a queued envelope into a dead-letter envelope.
func encodeDead(at time.Time, reason string, envelope []byte) []byte {
	if len(reason) > maxReasonLen {
		reason = reason[:maxReasonLen]
	}
	v := make([]byte, deadHeader+len(reason)+len(envelope)+crcSize)
	v[0] = deadVersion
	binary.BigEndian.PutUint64(v[1:9], uint64(at.UnixNano()))
	binary.BigEndian.PutUint16(v[9:11], uint16(len(reason)))
	n := deadHeader + copy(v[deadHeader:], reason)
	copy(v[n:], envelope)
	end := len(v) - crcSize
	binary.BigEndian.PutUint32(v[end:], crc32.Checksum(v[:end], castagnoli))
	return v
}

// decodeDead checks a dead-letter envelope and the record inside it. The
// returned Data aliases v.
func decodeDead(k, v []byte) (DeadRecord, error) {
	if len(v) < deadHeader+crcSize || v[0] != deadVersion {
		return DeadRecord{}, fmt.Errorf("%w: dead letter of %d bytes", errDamaged, len(v))
	}
	end := len(v) - crcSize
	if crc32.Checksum(v[:end], castagnoli) != binary.BigEndian.Uint32(v[end:]) {
		return DeadRecord{}, fmt.Errorf("%w: dead letter: checksum mismatch", errDamaged)
	}
	n := int(binary.BigEndian.Uint16(v[9:11]))
	if deadHeader+n > end {
		return DeadRecord{}, fmt.Errorf("%w: dead letter: reason overflows", errDamaged)
	}
	rec, err := decodeRecord(k, v[deadHeader+n:end])
	if err != nil {
		return DeadRecord{}, err
	}
	return DeadRecord{
		Record:       rec,
		Reason:       string(v[deadHeader : deadHeader+n]),
		DeadLettered: time.Unix(0, int64(binary.BigEndian.Uint64(v[1:9]))),
	}, nil
}
