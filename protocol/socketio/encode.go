package socketio

import (
	"fmt"
	"strconv"
	"strings"
)

// AppendPacket appends the text part of p to dst and returns the extended
// buffer:
//
//	<type>[<N>-][<namespace>,][<ack id>][<JSON payload>]
//
// N, written for BINARY_EVENT and BINARY_ACK only, is len(p.Attachments);
// the namespace is omitted when it is "" or "/"; the ack id is written when
// p.HasID is set; the payload is p.Data, verbatim. For example:
//
//	2["foo"]
//	2/admin,["bar"]
//	212["foo"]
//	51-["baz",{"_placeholder":true,"num":0}]
//	1/admin,
//
// The caller sends the result as an Engine.IO text message, then each
// attachment as a binary message, in order. AppendPacket does not check p;
// call [Packet.Validate] first when p is not known to be well formed.
func AppendPacket(dst []byte, p *Packet) []byte {
	dst = append(dst, '0'+byte(p.Type))
	if isBinaryType(p.Type) {
		dst = strconv.AppendInt(dst, int64(len(p.Attachments)), 10)
		dst = append(dst, '-')
	}
	if p.Namespace != "" && p.Namespace != DefaultNamespace {
		dst = append(dst, p.Namespace...)
		dst = append(dst, ',')
	}
	if p.HasID {
		dst = strconv.AppendUint(dst, p.ID, 10)
	}
	return append(dst, p.Data...)
}

// Validate reports whether p is a packet that a peer decoding like
// [Decoder], with the given attachment limit, accepts: AppendPacket then
// produces messages that decode back to p (with "" read as "/" and the
// payload without surrounding whitespace). A maxAttachments of zero or less
// means DefaultMaxAttachments.
//
// It checks the type, that a custom namespace starts with '/' and has no
// ',', the payload shape (see [Decoder.Decode]), and for BINARY_EVENT and
// BINARY_ACK that there are from 1 to maxAttachments attachments and that
// every placeholder designates one of them; other types must have no
// attachments. Too many attachments give an error matching
// ErrTooManyAttachments; every other error wraps ErrInvalidPacket.
func (p *Packet) Validate(maxAttachments int) error {
	if p.Type > PacketBinaryAck {
		return invalidf("unknown packet type %d", byte(p.Type))
	}
	if nsp := p.Namespace; nsp != "" && nsp != DefaultNamespace {
		if nsp[0] != '/' {
			return invalidf("namespace %q does not start with '/'", nsp)
		}
		if strings.IndexByte(nsp, ',') >= 0 {
			return invalidf("namespace %q contains a comma", nsp)
		}
	}
	data := p.Data
	if len(data) > 0 {
		var err error
		if data, err = checkPayload(p.Type, data); err != nil {
			return err
		}
	} else if payloadRequired(p.Type) {
		return invalidf("%v packet without a payload", p.Type)
	}
	n := len(p.Attachments)
	if !isBinaryType(p.Type) {
		if n > 0 {
			return invalidf("%v packet with attachments", p.Type)
		}
		return nil
	}
	if maxAttachments <= 0 {
		maxAttachments = DefaultMaxAttachments
	}
	switch {
	case n == 0:
		return invalidf("%v packet with no attachment", p.Type)
	case n > maxAttachments:
		return fmt.Errorf("%w: %d, limit %d", ErrTooManyAttachments, n, maxAttachments)
	}
	_, err := checkPlaceholders(data, n, nil)
	return err
}
