package socketio

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
)

// maxMarshalDepth is how deep MarshalArgs and MarshalValue follow nested
// containers, pointers and interfaces that may hold binary values, so that a
// cyclic value fails instead of exhausting the stack. It is the nesting
// limit of encoding/json's decoder: no deeper JSON could be read back.
const maxMarshalDepth = 10000

// initialArgsBuffer is the capacity MarshalArgs and MarshalValue start their
// JSON buffer with.
const initialArgsBuffer = 128

// maxRewriteFactor bounds the JSON that UnmarshalArg builds when it replaces
// placeholders with base64 strings, as a multiple of the input (JSON plus
// the base64 size of every attachment once), so that many placeholders
// naming one large attachment cannot make it allocate without limit.
const maxRewriteFactor = 4

// placeholderPrefix starts every placeholder MarshalArgs writes; the
// attachment number and a closing brace follow.
const placeholderPrefix = `{"_placeholder":true,"num":`

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	numberType        = reflect.TypeFor[json.Number]()
	zeroerType        = reflect.TypeFor[zeroer]()
	anySliceType      = reflect.TypeFor[[]any]()
	anyMapType        = reflect.TypeFor[map[string]any]()
)

// zeroer is the method encoding/json's omitzero option uses when present.
type zeroer interface {
	IsZero() bool
}

// errTooDeep reports a value nested beyond maxMarshalDepth.
var errTooDeep = fmt.Errorf("socketio: value nested more than %d levels deep (a cycle?)", maxMarshalDepth)

// MarshalArgs encodes args as the JSON array payload of an EVENT or ACK
// packet, extracting binary values as attachments.
//
// The JSON is what encoding/json produces for []any{args...}, except that
// every []byte (or other slice type with byte elements that encoding/json
// would write as base64) is replaced by {"_placeholder":true,"num":N}, N
// counting from 0 in the order the placeholders appear in the JSON, and
// appended to attachments. Binary values are found anywhere: at the top
// level, in slices, arrays and maps, behind pointers and interfaces, and in
// struct fields. Struct fields follow encoding/json: exported fields,
// including those promoted from embedded structs, with the name, "-",
// omitempty, omitzero and string options of the json tag; map keys are
// sorted the same way. A nil []byte is null. An empty one is an attachment.
//
// A type whose value or pointer implements json.Marshaler or
// encoding.TextMarshaler (json.RawMessage among them), and a type that
// cannot hold a []byte, is handed to encoding/json unchanged: binary values
// inside such a type are not extracted and come out as base64 strings.
//
// The attachments are the caller's slices, not copies: keep them unchanged
// until they are sent. MarshalArgs does not limit the number of attachments;
// [Packet.Validate] checks it against the peer's limit. A packet carrying
// attachments must be sent as BINARY_EVENT or BINARY_ACK.
//
// The errors are those of encoding/json (*json.UnsupportedTypeError,
// *json.UnsupportedValueError, *json.MarshalerError), or an error for a
// value nested more than 10000 levels deep, which includes cyclic values.
func MarshalArgs(args ...any) (data json.RawMessage, attachments [][]byte, err error) {
	e := argEncoder{buf: make([]byte, 0, initialArgsBuffer)}
	e.buf = append(e.buf, '[')
	for i, a := range args {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.any(a, 0); err != nil {
			return nil, nil, err
		}
	}
	e.buf = append(e.buf, ']')
	return e.buf, e.attachments, nil
}

// MarshalValue encodes one value the way [MarshalArgs] encodes each of its
// arguments, for payloads that are not argument lists, such as the auth
// object of a CONNECT packet.
func MarshalValue(v any) (data json.RawMessage, attachments [][]byte, err error) {
	e := argEncoder{buf: make([]byte, 0, initialArgsBuffer)}
	if err := e.any(v, 0); err != nil {
		return nil, nil, err
	}
	return e.buf, e.attachments, nil
}

// UnmarshalArg decodes raw, one argument of a received packet whose binary
// attachments are attachments, into v.
//
// When v is a *any, it receives the tree of [DecodeValue], in which binary
// values are []byte; a *[]any or *map[string]any receives the same tree when
// raw is an array or an object (or null). For any other v, each placeholder
// is replaced by the base64 JSON string of its attachment and the result is
// decoded with json.Unmarshal, so []byte fields and variables receive the
// bytes; a binary value that reaches an interface inside v arrives there as
// a base64 string.
//
// As in the reference parser, placeholders are interpreted only when there
// are attachments (a BINARY_EVENT or BINARY_ACK always has at least one);
// with none, a placeholder is an ordinary object. A placeholder that
// designates no attachment, and raw that is not valid JSON, give an error
// wrapping ErrInvalidPacket; a mismatch between the JSON and v gives the
// error of json.Unmarshal.
func UnmarshalArg(raw json.RawMessage, attachments [][]byte, v any) error {
	return unmarshalArg(raw, attachments, v, false)
}

// unmarshalArg is UnmarshalArg; strict makes object members that match no
// field of a struct in v an error (json.Decoder.DisallowUnknownFields).
func unmarshalArg(raw json.RawMessage, attachments [][]byte, v any, strict bool) error {
	switch p := v.(type) {
	case *any:
		if p == nil {
			return &json.InvalidUnmarshalError{Type: reflect.TypeOf(v)}
		}
		x, err := DecodeValue(raw, attachments)
		if err != nil {
			return err
		}
		*p = x
		return nil
	case *[]any:
		if p == nil {
			return &json.InvalidUnmarshalError{Type: reflect.TypeOf(v)}
		}
		x, err := DecodeValue(raw, attachments)
		if err != nil {
			return err
		}
		switch y := x.(type) {
		case []any:
			*p = y
		case nil:
			*p = nil
		default:
			return &json.UnmarshalTypeError{Value: jsonKind(raw), Type: anySliceType}
		}
		return nil
	case *map[string]any:
		if p == nil {
			return &json.InvalidUnmarshalError{Type: reflect.TypeOf(v)}
		}
		x, err := DecodeValue(raw, attachments)
		if err != nil {
			return err
		}
		switch y := x.(type) {
		case map[string]any:
			*p = y
		case nil:
			*p = nil
		default:
			return &json.UnmarshalTypeError{Value: jsonKind(raw), Type: anyMapType}
		}
		return nil
	}

	if !json.Valid(raw) {
		return invalidf("argument is not valid JSON")
	}
	if len(attachments) > 0 {
		found := findPlaceholders(raw, len(attachments), nil)
		if len(found) > 0 {
			var err error
			if raw, err = inlineAttachments(raw, found, attachments); err != nil {
				return err
			}
		}
	}
	if !strict {
		return json.Unmarshal(raw, v)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v) // raw is one valid JSON value: nothing follows it
}

// inlineAttachments returns raw with each placeholder replaced by the
// base64 JSON string of its attachment.
func inlineAttachments(raw []byte, found []placeholder, attachments [][]byte) ([]byte, error) {
	limit := len(raw)
	for _, a := range attachments {
		limit += base64.StdEncoding.EncodedLen(len(a)) + 2
	}
	limit *= maxRewriteFactor
	size := len(raw)
	for _, ph := range found {
		if ph.num < 0 {
			return nil, invalidf("placeholder at byte %d does not designate one of the %d attachments", ph.start, len(attachments))
		}
		size += base64.StdEncoding.EncodedLen(len(attachments[ph.num])) + 2 - (ph.end - ph.start)
		if size > limit {
			return nil, invalidf("placeholders repeat attachments too often")
		}
	}
	out := make([]byte, 0, size)
	prev := 0
	for _, ph := range found {
		out = append(out, raw[prev:ph.start]...)
		out = append(out, '"')
		out = base64.StdEncoding.AppendEncode(out, attachments[ph.num])
		out = append(out, '"')
		prev = ph.end
	}
	return append(out, raw[prev:]...), nil
}

// jsonKind names the kind of the JSON value raw, for type errors.
func jsonKind(raw []byte) string {
	raw = trimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// DecodeValue decodes raw into a generic tree, resolving placeholders:
// objects become map[string]any, arrays []any, strings string, numbers
// json.Number, booleans bool, null nil, and each placeholder object the
// []byte of its attachment (the attachment itself, not a copy).
//
// As in the reference parser, placeholders are interpreted only when there
// are attachments. Invalid JSON and a placeholder that designates no
// attachment give an error wrapping ErrInvalidPacket.
func DecodeValue(raw json.RawMessage, attachments [][]byte) (any, error) {
	if !json.Valid(raw) {
		return nil, invalidf("value is not valid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPacket, err)
	}
	if len(attachments) == 0 {
		return v, nil
	}
	return resolvePlaceholders(v, attachments)
}

// resolvePlaceholders replaces, in place, the placeholder objects of the
// generic tree v with their attachments.
func resolvePlaceholders(v any, attachments [][]byte) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if flag, ok := x["_placeholder"].(bool); ok && flag {
			num, _ := x["num"].(json.Number)
			i := placeholderIndex([]byte(num), len(attachments))
			if i < 0 {
				return nil, invalidf("placeholder num %q does not designate one of the %d attachments", string(num), len(attachments))
			}
			return attachments[i], nil
		}
		for k, e := range x {
			r, err := resolvePlaceholders(e, attachments)
			if err != nil {
				return nil, err
			}
			x[k] = r
		}
	case []any:
		for i, e := range x {
			r, err := resolvePlaceholders(e, attachments)
			if err != nil {
				return nil, err
			}
			x[i] = r
		}
	}
	return v, nil
}

// SplitArray splits the JSON array data into its elements, without
// whitespace around them. The elements are sub-slices of data, capped so
// that appending to one cannot overwrite the next. An empty array gives no
// elements. When data is not a valid JSON array, the error wraps
// ErrInvalidPacket.
func SplitArray(data json.RawMessage) ([]json.RawMessage, error) {
	data = trimSpace(data)
	if len(data) == 0 || data[0] != '[' || !json.Valid(data) {
		return nil, invalidf("payload is not a JSON array")
	}
	i := skipSpace(data, 1)
	if i >= len(data) || data[i] == ']' {
		return nil, nil
	}
	elems := make([]json.RawMessage, 0, 4)
	for i < len(data) {
		end := skipValue(data, i)
		elems = append(elems, data[i:end:end])
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ',' {
			break
		}
		i = skipSpace(data, i+1)
	}
	return elems, nil
}

// skipValue returns the index after the JSON value starting at i in the
// valid JSON text data.
func skipValue(data []byte, i int) int {
	depth := 0
	for i < len(data) {
		switch data[i] {
		case '"':
			i = scanString(data, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth <= 0 {
				return i + 1 + depth // a closer that is not ours ends the value before it
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}
