package outbox

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sioagent/sioagent/protocol/senml"
	"github.com/sioagent/sioagent/store"
)

// ContentTypeSenMLCBOR is the content type of SenML packs encoded as CBOR
// (RFC 8428), what the agent's telemetry carries: senml.MediaType, named
// here for callers of Enqueue.
const ContentTypeSenMLCBOR = senml.MediaType

// Record format versions: version 2 adds the seq a requeued record
// replaces. A record that replaces none is written as version 1, which
// every version reads.
const (
	recordVersion         = 1
	recordVersionReplaces = 2
)

// MaxContentType is the longest content type a record may carry, in bytes.
const MaxContentType = 255

// ErrBadRecord is wrapped by the errors of Batch.UnmarshalBinary: the store
// record was not written by this package, is damaged, or comes from a newer
// version. The drainer moves such records to the dead-letter bucket.
var ErrBadRecord = errors.New("outbox: malformed record")

// Batch is what one store record holds: the payload of one telemetry
// event, with the header fields that are not derived from the store.
type Batch struct {
	// Count is the number of readings in Payload (the header's count).
	Count int
	// ContentType is the payload's media type (the header's contentType),
	// like ContentTypeSenMLCBOR; at most MaxContentType bytes.
	ContentType string
	// Payload travels as the event's binary attachment.
	Payload []byte
	// Clock goes into the header's clock field (see
	// wire.TelemetryHeader.Clock). It is not stored: Options.Prepare sets
	// it just before a send.
	Clock string
	// Replaces is the seq of the dead letter this record was requeued from
	// (see Requeue), zero for none; it goes into the header's replaces
	// field.
	Replaces uint64
}

// AppendBinary appends the record encoding of b to dst:
//
//	version (1 byte, = 1) | count (uvarint) | len(contentType) (uvarint) | contentType | payload
//
// or, for a batch that replaces a dead letter (Replaces not zero):
//
//	version (1 byte, = 2) | replaces (uvarint) | count | len(contentType) | contentType | payload
//
// It implements encoding.BinaryAppender. A negative Count and a content
// type longer than MaxContentType are errors.
func (b Batch) AppendBinary(dst []byte) ([]byte, error) {
	if b.Count < 0 {
		return dst, fmt.Errorf("outbox: negative count %d", b.Count)
	}
	if len(b.ContentType) > MaxContentType {
		return dst, fmt.Errorf("outbox: content type of %d bytes (at most %d)", len(b.ContentType), MaxContentType)
	}
	if b.Replaces != 0 {
		dst = append(dst, recordVersionReplaces)
		dst = binary.AppendUvarint(dst, b.Replaces)
	} else {
		dst = append(dst, recordVersion)
	}
	dst = binary.AppendUvarint(dst, uint64(b.Count))
	dst = binary.AppendUvarint(dst, uint64(len(b.ContentType)))
	dst = append(dst, b.ContentType...)
	return append(dst, b.Payload...), nil
}

// MarshalBinary returns the record encoding of b (see AppendBinary).
func (b Batch) MarshalBinary() ([]byte, error) {
	return b.AppendBinary(make([]byte, 0, 1+3*binary.MaxVarintLen64+len(b.ContentType)+len(b.Payload)))
}

// UnmarshalBinary decodes a record written by MarshalBinary. Payload is a
// sub-slice of data, not a copy. Errors wrap ErrBadRecord.
func (b *Batch) UnmarshalBinary(data []byte) error {
	if len(data) == 0 {
		return fmt.Errorf("%w: empty", ErrBadRecord)
	}
	rest := data[1:]
	var replaces uint64
	switch data[0] {
	case recordVersion:
	case recordVersionReplaces:
		r, n := binary.Uvarint(rest)
		if n <= 0 || r == 0 {
			return fmt.Errorf("%w: bad replaces", ErrBadRecord)
		}
		replaces, rest = r, rest[n:]
	default:
		return fmt.Errorf("%w: version %d (this version reads %d and %d)", ErrBadRecord, data[0], recordVersion, recordVersionReplaces)
	}
	count, n := binary.Uvarint(rest)
	if n <= 0 || count > uint64(maxInt) {
		return fmt.Errorf("%w: bad count", ErrBadRecord)
	}
	rest = rest[n:]
	ctLen, n := binary.Uvarint(rest)
	if n <= 0 || ctLen > MaxContentType || ctLen > uint64(len(rest)-n) {
		return fmt.Errorf("%w: bad content type length", ErrBadRecord)
	}
	rest = rest[n:]
	*b = Batch{Count: int(count), ContentType: string(rest[:ctLen]), Payload: rest[ctLen:], Replaces: replaces}
	return nil
}

const maxInt = int(^uint(0) >> 1)

// Enqueue stores one batch of count readings of the given content type in
// s and returns its seq once it is durable (Store.Append: committed and
// fsynced, sharing the transaction with concurrent producers). The seq is
// the one the server will see in the telemetry header. The payload is not
// kept after Enqueue returns.
//
// Errors are Store.Append's (store.ErrFull, store.ErrTooLarge,
// store.ErrDiskFull, store.ErrClosed, ctx.Err()) or a batch that cannot be
// encoded (see Batch.AppendBinary); nothing was stored then.
func Enqueue(ctx context.Context, s *store.Store, count int, contentType string, payload []byte) (uint64, error) {
	rec, err := Batch{Count: count, ContentType: contentType, Payload: payload}.MarshalBinary()
	if err != nil {
		return 0, err
	}
	return s.Append(ctx, rec)
}
