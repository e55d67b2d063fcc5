package engineio

import (
	"bytes"
	"encoding/base64"
	"fmt"
)

// RecordSeparator separates packets in an HTTP long-polling payload.
const RecordSeparator = 0x1e

// EncodePayload appends the long-polling encoding of packets to dst: text
// packets as "<type><data>", binary packets as "b<base64>", joined by
// RecordSeparator. The protocol has no escape for RecordSeparator, so text
// data must not contain it (JSON, and thus Socket.IO, never does: it escapes
// control characters); send such data as a binary packet instead.
func EncodePayload(dst []byte, packets []Packet) []byte {
	for i, p := range packets {
		if i > 0 {
			dst = append(dst, RecordSeparator)
		}
		if p.Binary {
			dst = append(dst, 'b')
			dst = base64.StdEncoding.AppendEncode(dst, p.Data)
			continue
		}
		dst = EncodeText(dst, p)
	}
	return dst
}

// PayloadSize returns the number of bytes p adds to a polling payload,
// separator included, so that a sender can split bodies at maxPayload. As the
// first packet has no separator, the body of packets is one byte shorter than
// the sum of their sizes: len(EncodePayload(nil, ps)) == sum - 1 for a
// non-empty ps.
func PayloadSize(p Packet) int {
	if p.Binary {
		return 2 + base64.StdEncoding.EncodedLen(len(p.Data))
	}
	return 2 + len(p.Data)
}

// DecodePayload splits a long-polling payload into packets. Binary records
// are decoded from base64 into fresh slices; text packets alias body, with
// their capacity capped so that appending to one never overwrites the next.
func DecodePayload(body []byte) ([]Packet, error) {
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrInvalidPacket)
	}
	n := bytes.Count(body, []byte{RecordSeparator}) + 1
	packets, err := appendPayload(make([]Packet, 0, n), body)
	if err != nil {
		return nil, err
	}
	return packets, nil
}

// appendPayload decodes a non-empty long-polling payload and appends its
// packets to dst. On error dst may hold some of the packets.
func appendPayload(dst []Packet, body []byte) ([]Packet, error) {
	for rec := range bytes.SplitSeq(body, []byte{RecordSeparator}) {
		p, err := decodeRecord(rec)
		if err != nil {
			return dst, err
		}
		p.Data = p.Data[:len(p.Data):len(p.Data)]
		dst = append(dst, p)
	}
	return dst, nil
}

func decodeRecord(rec []byte) (Packet, error) {
	if len(rec) > 0 && rec[0] == 'b' {
		data, err := base64.StdEncoding.AppendDecode(nil, rec[1:])
		if err != nil {
			return Packet{}, fmt.Errorf("%w: base64 record: %v", ErrInvalidPacket, err)
		}
		return Packet{Type: Message, Data: data, Binary: true}, nil
	}
	return DecodeText(rec)
}
