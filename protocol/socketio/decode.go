package socketio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// attachmentCountCap is where the decoder stops accumulating the digits of
// an attachment count: any larger count is over every sensible limit, and
// stopping keeps the arithmetic far from overflow.
const attachmentCountCap = math.MaxUint32

// attachmentsPrealloc is the largest attachment slice the decoder allocates
// before the attachments arrive; a packet announcing more grows it as they
// come, so a large announced count costs nothing up front.
const attachmentsPrealloc = 16

// maxFastIndexDigits is the longest placeholder num that placeholderIndex
// parses as plain digits, without overflow.
const maxFastIndexDigits = 9

// maxRetainedScratch is the largest placeholder scratch buffer a Decoder
// keeps between packets.
const maxRetainedScratch = 64

// reservedEvents are the event names the reference parser refuses in an
// EVENT packet, because the JavaScript implementations give them a special
// meaning.
var reservedEvents = [...]string{
	"connect",
	"connect_error",
	"disconnect",
	"disconnecting",
	"newListener",
	"removeListener",
}

// Decoder turns Engine.IO messages into Socket.IO packets, reassembling
// BINARY_EVENT and BINARY_ACK packets from their text part and the binary
// attachments that follow it.
//
// The zero value is ready to use. A Decoder is not safe for concurrent use;
// a connection has one, used by its read loop.
type Decoder struct {
	// MaxAttachments is the largest number of binary attachments accepted
	// in one packet. Zero or a negative value means DefaultMaxAttachments.
	MaxAttachments int

	pending *Packet       // binary packet waiting for attachments, or nil
	want    int           // number of attachments pending announced
	lastNsp string        // last custom namespace, reused to avoid allocating
	scratch []placeholder // reused by the placeholder check
}

// packetWithAttachment is a Packet with room for one attachment.
type packetWithAttachment struct {
	Packet
	slot [1][]byte
}

// tooManyAttachmentsError is the decoder's error for a packet announcing
// more attachments than allowed; it matches both ErrInvalidPacket and
// ErrTooManyAttachments.
type tooManyAttachmentsError struct {
	limit int
}

func (e *tooManyAttachmentsError) Error() string {
	return fmt.Sprintf("%v: too many attachments (limit %d)", ErrInvalidPacket, e.limit)
}

func (e *tooManyAttachmentsError) Unwrap() []error {
	return []error{ErrInvalidPacket, ErrTooManyAttachments}
}

// invalidf returns an error wrapping ErrInvalidPacket.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidPacket, fmt.Sprintf(format, args...))
}

// Decode feeds one Engine.IO message to the decoder: a text message when
// binary is false, the raw bytes of a binary message otherwise.
//
// It returns the packet the message completes, or (nil, nil) while a
// BINARY_EVENT or BINARY_ACK still waits for attachments. The returned
// packet shares no memory with frame: Data and every attachment are copies.
// BINARY_EVENT and BINARY_ACK keep their types; their Data still holds the
// placeholders, to be resolved with [UnmarshalArg] or [DecodeValue].
//
// Every error wraps ErrInvalidPacket, and a packet announcing more than
// MaxAttachments attachments also matches ErrTooManyAttachments. After an
// error the decoder has forgotten any partial packet and is ready for a new
// one, though the peer has broken the protocol and the usual reaction, as
// in the reference implementation, is to close the connection.
//
// Decoding follows the reference parser (socket.io-parser 4.2): a '/' after
// the type (and attachment count) starts the namespace, which ends at the
// first ',' or, when there is none, at the end of the message, so "1/admin"
// is a DISCONNECT for "/admin"; digits then form the ack id, and the rest
// is the JSON payload. The payload must have the shape the reference
// requires: an object or nothing for CONNECT, nothing for DISCONNECT, an
// object or a string for CONNECT_ERROR, an array for ACK and BINARY_ACK,
// and for EVENT and BINARY_EVENT an array whose first element is a number
// or a string other than the reserved event names. Unlike the reference,
// which checks the shape only when a payload is present, the payload of
// EVENT, ACK, CONNECT_ERROR and their binary forms is mandatory, as the
// protocol specification says; an empty message, an ack id that overflows
// uint64 and a placeholder num that is not an integer are errors too.
func (d *Decoder) Decode(frame []byte, binary bool) (*Packet, error) {
	if binary {
		return d.addAttachment(frame)
	}
	if d.pending != nil {
		d.Reset()
		return nil, invalidf("got plaintext data when reconstructing a packet")
	}
	p, n, err := d.decodeText(frame)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return p, nil
	}
	if p.Attachments == nil {
		p.Attachments = make([][]byte, 0, min(n, attachmentsPrealloc))
	}
	d.pending, d.want = p, n
	return nil, nil
}

// Reset drops any partially received packet, so that the next message is
// decoded as the start of a new packet.
func (d *Decoder) Reset() {
	d.pending, d.want = nil, 0
}

// limit returns the effective attachment limit.
func (d *Decoder) limit() int {
	if d.MaxAttachments > 0 {
		return d.MaxAttachments
	}
	return DefaultMaxAttachments
}

// addAttachment takes one binary message.
func (d *Decoder) addAttachment(frame []byte) (*Packet, error) {
	p := d.pending
	if p == nil {
		return nil, invalidf("got binary data when not reconstructing a packet")
	}
	att := make([]byte, len(frame))
	copy(att, frame)
	p.Attachments = append(p.Attachments, att)
	if len(p.Attachments) < d.want {
		return nil, nil
	}
	d.Reset()
	var err error
	d.scratch, err = checkPlaceholders(p.Data, len(p.Attachments), d.scratch[:0])
	if cap(d.scratch) > maxRetainedScratch {
		d.scratch = nil
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// decodeText decodes the text part of a packet. It returns the packet and
// the number of attachments still to come.
func (d *Decoder) decodeText(s []byte) (*Packet, int, error) {
	if len(s) == 0 {
		return nil, 0, invalidf("empty message")
	}
	c := s[0]
	if c < '0' || c > '0'+byte(PacketBinaryAck) {
		return nil, 0, invalidf("unknown packet type %q", c)
	}
	typ := PacketType(c - '0')
	i := 1

	n := 0
	if isBinaryType(typ) {
		start := i
		var count uint64
		for ; i < len(s) && isDigit(s[i]); i++ {
			if count <= attachmentCountCap {
				count = count*10 + uint64(s[i]-'0')
			}
		}
		if i == start || i == len(s) || s[i] != '-' {
			return nil, 0, invalidf("%v packet without a valid attachment count", typ)
		}
		i++
		if count == 0 {
			return nil, 0, invalidf("%v packet with no attachment", typ)
		}
		if limit := d.limit(); count > uint64(limit) {
			return nil, 0, &tooManyAttachmentsError{limit: limit}
		}
		n = int(count)
	}

	var p *Packet
	if n == 1 {
		// The common binary packet: one allocation for the packet and the
		// slot of its attachment.
		pa := new(packetWithAttachment)
		p = &pa.Packet
		p.Attachments = pa.slot[:0]
	} else {
		p = new(Packet)
	}
	p.Type, p.Namespace = typ, DefaultNamespace

	if i < len(s) && s[i] == '/' {
		nsp := s[i:]
		if j := bytes.IndexByte(nsp, ','); j >= 0 {
			nsp = nsp[:j]
			i += j + 1
		} else {
			i = len(s)
		}
		p.Namespace = d.namespace(nsp)
	}

	if i < len(s) && isDigit(s[i]) {
		var id uint64
		for ; i < len(s) && isDigit(s[i]); i++ {
			digit := uint64(s[i] - '0')
			if id > (math.MaxUint64-digit)/10 {
				return nil, 0, invalidf("ack id overflows uint64")
			}
			id = id*10 + digit
		}
		p.ID, p.HasID = id, true
	}

	if i < len(s) {
		data, err := checkPayload(p.Type, s[i:])
		if err != nil {
			return nil, 0, err
		}
		p.Data = bytes.Clone(data)
	} else if payloadRequired(p.Type) {
		return nil, 0, invalidf("%v packet without a payload", p.Type)
	}
	return p, n, nil
}

// namespace returns nsp as a string, reusing the previous one when equal.
func (d *Decoder) namespace(nsp []byte) string {
	switch {
	case len(nsp) == 1:
		return DefaultNamespace
	case string(nsp) == d.lastNsp:
		return d.lastNsp
	}
	d.lastNsp = string(nsp)
	return d.lastNsp
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isBinaryType(t PacketType) bool { return t == PacketBinaryEvent || t == PacketBinaryAck }

// payloadRequired reports whether a packet of type t must carry a payload.
func payloadRequired(t PacketType) bool {
	return t != PacketConnect && t != PacketDisconnect
}

// checkPayload checks that data is valid JSON of the shape packets of type
// t require, and returns it without surrounding whitespace.
func checkPayload(t PacketType, data []byte) ([]byte, error) {
	if !json.Valid(data) {
		return nil, invalidf("%v payload is not valid JSON", t)
	}
	data = trimSpace(data)
	var ok bool
	switch t {
	case PacketConnect:
		ok = data[0] == '{'
	case PacketDisconnect:
		ok = false
	case PacketConnectError:
		ok = data[0] == '{' || data[0] == '"'
	case PacketEvent, PacketBinaryEvent:
		if data[0] != '[' {
			break
		}
		return data, checkEventName(data)
	case PacketAck, PacketBinaryAck:
		ok = data[0] == '['
	}
	if !ok {
		return nil, invalidf("invalid %v payload", t)
	}
	return data, nil
}

// checkEventName checks the first element of the valid JSON array arr.
func checkEventName(arr []byte) error {
	i := skipSpace(arr, 1)
	if i >= len(arr) {
		return invalidf("EVENT payload without an event name")
	}
	switch c := arr[i]; {
	case c == '-' || isDigit(c):
		return nil
	case c == '"':
		raw := arr[i:scanString(arr, i)]
		for _, r := range reservedEvents {
			if keyIs(raw, r) {
				return invalidf("EVENT payload with the reserved event name %q", r)
			}
		}
		return nil
	case c == ']':
		return invalidf("EVENT payload without an event name")
	}
	return invalidf("EVENT name is neither a string nor a number")
}

// unquote returns the value of the JSON string literal raw.
func unquote(raw []byte) (string, bool) {
	if len(raw) < 2 {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// keyIs reports whether the JSON string literal raw has the value name.
func keyIs(raw []byte, name string) bool {
	if len(raw) < 2 {
		return false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1:len(raw)-1]) == name
	}
	s, ok := unquote(raw)
	return ok && s == name
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace returns the index of the first non-whitespace byte of data at
// or after i.
func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// trimSpace removes JSON whitespace around data.
func trimSpace(data []byte) []byte {
	i := skipSpace(data, 0)
	j := len(data)
	for j > i && isSpace(data[j-1]) {
		j--
	}
	return data[i:j]
}

// placeholder is one {"_placeholder":true,"num":N} object of a JSON text.
type placeholder struct {
	start, end int // byte span of the object
	num        int // attachment index, or -1 when num is missing or invalid
}

// placeholderScanner finds the placeholder objects of a valid JSON text the
// way the reference reconstructs binary packets: an object whose last
// "_placeholder" member is true is a placeholder, whatever its other
// members, and it replaces the whole object, so placeholders nested inside
// it do not count.
//
// The scanner relies on its input being valid JSON (checked beforehand with
// json.Valid, which also bounds the nesting depth, and so the recursion);
// on other input it returns without panicking, with meaningless results.
type placeholderScanner struct {
	data  []byte
	n     int // number of attachments
	found []placeholder
}

// scan scans the whole text.
func (s *placeholderScanner) scan() {
	s.value(skipSpace(s.data, 0))
}

// value scans the value starting at i and returns the index after it.
func (s *placeholderScanner) value(i int) int {
	if i >= len(s.data) {
		return len(s.data)
	}
	switch s.data[i] {
	case '{':
		return s.object(i)
	case '[':
		return s.array(i)
	case '"':
		return scanString(s.data, i)
	}
	return scanLiteral(s.data, i)
}

func (s *placeholderScanner) array(i int) int {
	i = skipSpace(s.data, i+1)
	if i < len(s.data) && s.data[i] == ']' {
		return i + 1
	}
	for i < len(s.data) {
		i = skipSpace(s.data, s.value(i))
		if i >= len(s.data) || s.data[i] != ',' {
			break
		}
		i = skipSpace(s.data, i+1)
	}
	return min(i+1, len(s.data))
}

func (s *placeholderScanner) object(start int) int {
	mark := len(s.found)
	var flag, num []byte
	i := skipSpace(s.data, start+1)
	if i < len(s.data) && s.data[i] == '}' {
		return i + 1
	}
	for i < len(s.data) {
		keyEnd := scanString(s.data, i)
		key := s.data[i:keyEnd]
		i = skipSpace(s.data, skipSpace(s.data, keyEnd)+1) // past ':'
		valStart := i
		i = s.value(i)
		if i > len(s.data) || valStart > i {
			return len(s.data)
		}
		switch {
		case keyIs(key, "_placeholder"):
			flag = s.data[valStart:i]
		case keyIs(key, "num"):
			num = s.data[valStart:i]
		}
		i = skipSpace(s.data, i)
		if i >= len(s.data) || s.data[i] != ',' {
			break
		}
		i = skipSpace(s.data, i+1)
	}
	end := min(i+1, len(s.data))
	if string(flag) == "true" {
		s.found = append(s.found[:mark], placeholder{start: start, end: end, num: placeholderIndex(num, s.n)})
	}
	return end
}

// scanString returns the index after the JSON string starting at i.
func scanString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(data)
}

// scanLiteral returns the index after the number, true, false or null
// starting at i.
func scanLiteral(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ',', ']', '}', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// placeholderIndex returns the attachment index the raw JSON value num
// designates among n attachments, or -1 when num is not a number, not an
// integer, or out of range. Like the reference, which compares JavaScript
// numbers, it accepts any JSON number with an integer value (1.0, 1e0).
func placeholderIndex(num []byte, n int) int {
	if len(num) == 0 {
		return -1
	}
	if c := num[0]; c != '-' && !isDigit(c) {
		return -1
	}
	if len(num) <= maxFastIndexDigits && !bytes.ContainsFunc(num, func(r rune) bool { return r < '0' || r > '9' }) {
		v := 0
		for _, c := range num {
			v = v*10 + int(c-'0')
		}
		if v < n {
			return v
		}
		return -1
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f >= float64(n) {
		return -1
	}
	return int(f)
}

// findPlaceholders returns the placeholder objects of the valid JSON text
// data, in document order, appended to buf.
func findPlaceholders(data []byte, n int, buf []placeholder) []placeholder {
	s := placeholderScanner{data: data, n: n, found: buf}
	s.scan()
	return s.found
}

// checkPlaceholders checks that every placeholder of the valid JSON text
// data designates one of n attachments. It returns buf, possibly grown, for
// reuse.
func checkPlaceholders(data []byte, n int, buf []placeholder) ([]placeholder, error) {
	found := findPlaceholders(data, n, buf)
	for _, ph := range found {
		if ph.num < 0 {
			return found[:0], invalidf("placeholder at byte %d does not designate one of the %d attachments", ph.start, n)
		}
	}
	return found[:0], nil
}
