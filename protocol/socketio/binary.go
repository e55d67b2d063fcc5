package socketio

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
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
	return json.Unmarshal(raw, v)
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

// argEncoder builds the JSON of MarshalArgs and MarshalValue.
type argEncoder struct {
	buf         []byte
	attachments [][]byte
}

// binary writes b as a placeholder, or null when b is nil.
func (e *argEncoder) binary(b []byte) {
	if b == nil {
		e.buf = append(e.buf, "null"...)
		return
	}
	e.buf = append(e.buf, placeholderPrefix...)
	e.buf = strconv.AppendInt(e.buf, int64(len(e.attachments)), 10)
	e.buf = append(e.buf, '}')
	e.attachments = append(e.attachments, b)
}

// any encodes v, with fast paths for the types of generic trees.
func (e *argEncoder) any(v any, depth int) error {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		e.buf = appendJSONString(e.buf, x)
	case []byte:
		e.binary(x)
	case bool:
		e.buf = strconv.AppendBool(e.buf, x)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, x, 10)
	case int32:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case uint:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case uint64:
		e.buf = strconv.AppendUint(e.buf, x, 10)
	case uint32:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case float64:
		return e.float(x, 64)
	case float32:
		return e.float(float64(x), 32)
	case map[string]any:
		return e.anyMap(x, depth)
	case []any:
		return e.anySlice(x, depth)
	default:
		rv := reflect.ValueOf(v)
		if !infoOf(rv.Type()).binary {
			return e.marshal(v)
		}
		return e.value(rv, depth)
	}
	return nil
}

func (e *argEncoder) anyMap(m map[string]any, depth int) error {
	if m == nil {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	if depth >= maxMarshalDepth {
		return errTooDeep
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	e.buf = append(e.buf, '{')
	for i, k := range keys {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendJSONString(e.buf, k)
		e.buf = append(e.buf, ':')
		if err := e.any(m[k], depth+1); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

func (e *argEncoder) anySlice(s []any, depth int) error {
	if s == nil {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	if depth >= maxMarshalDepth {
		return errTooDeep
	}
	e.buf = append(e.buf, '[')
	for i, x := range s {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.any(x, depth+1); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, ']')
	return nil
}

// marshal appends the encoding/json encoding of v.
func (e *argEncoder) marshal(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	e.buf = append(e.buf, b...)
	return nil
}

func (e *argEncoder) float(f float64, bits int) error {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return &json.UnsupportedValueError{Value: reflect.ValueOf(f), Str: strconv.FormatFloat(f, 'g', -1, bits)}
	}
	e.buf = appendJSONFloat(e.buf, f, bits)
	return nil
}

// value encodes the value v, walking it when its type may hold binary
// values and handing it to encoding/json otherwise.
func (e *argEncoder) value(v reflect.Value, depth int) error {
	if depth >= maxMarshalDepth {
		return errTooDeep
	}
	info := infoOf(v.Type())
	if !info.binary && v.CanInterface() {
		return e.plain(v, info)
	}
	// Values that cannot be passed to encoding/json (CanInterface is false
	// only for a struct embedded through an unexported field, and what it
	// points to) are walked here whatever their type.
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if v.CanInterface() {
			return e.any(v.Interface(), depth+1)
		}
		return e.value(v.Elem(), depth+1)
	case reflect.Pointer:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.value(v.Elem(), depth+1)
	case reflect.Slice:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if info.byteSlice {
			e.binary(v.Bytes())
			return nil
		}
		return e.list(v, depth)
	case reflect.Array:
		return e.list(v, depth)
	case reflect.Map:
		return e.mapValue(v, depth)
	case reflect.Struct:
		return e.structValue(v, depth)
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
		return e.scalar(v)
	}
	return &json.UnsupportedTypeError{Type: v.Type()}
}

// plain encodes v, whose type holds no binary value, like encoding/json.
func (e *argEncoder) plain(v reflect.Value, info *typeInfo) error {
	if !info.marshaler && isScalarKind(v.Kind()) {
		return e.scalar(v)
	}
	if info.ptrMarshaler && v.CanAddr() {
		// encoding/json calls pointer methods of addressable values.
		return e.marshal(v.Addr().Interface())
	}
	return e.marshal(v.Interface())
}

// scalar encodes a boolean, number or string without methods.
func (e *argEncoder) scalar(v reflect.Value) error {
	switch v.Kind() {
	case reflect.Bool:
		e.buf = strconv.AppendBool(e.buf, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.buf = strconv.AppendInt(e.buf, v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.buf = strconv.AppendUint(e.buf, v.Uint(), 10)
	case reflect.Float32:
		return e.float(v.Float(), 32)
	case reflect.Float64:
		return e.float(v.Float(), 64)
	case reflect.String:
		e.buf = appendJSONString(e.buf, v.String())
	default:
		return &json.UnsupportedTypeError{Type: v.Type()}
	}
	return nil
}

// quoted encodes the field value v with the json ",string" option: the
// JSON of a boolean, number or string, itself inside a JSON string.
func (e *argEncoder) quoted(v reflect.Value, depth int) error {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		v = v.Elem()
	}
	info := infoOf(v.Type())
	isNumber := v.Type() == numberType
	if info.marshaler && !isNumber || !v.CanInterface() {
		return e.value(v, depth) // encoding/json ignores the option here
	}
	start := len(e.buf)
	if err := e.plain(v, info); err != nil {
		return err
	}
	if v.Kind() == reflect.String && !isNumber {
		s := string(e.buf[start:])
		e.buf = appendJSONString(e.buf[:start], s)
		return nil
	}
	e.buf = append(e.buf, '"')
	copy(e.buf[start+1:], e.buf[start:len(e.buf)-1])
	e.buf[start] = '"'
	e.buf = append(e.buf, '"')
	return nil
}

func (e *argEncoder) list(v reflect.Value, depth int) error {
	e.buf = append(e.buf, '[')
	for i := range v.Len() {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.value(v.Index(i), depth+1); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, ']')
	return nil
}

// mapEntry is one map element with its resolved JSON key.
type mapEntry struct {
	key string
	val reflect.Value
}

func (e *argEncoder) mapValue(v reflect.Value, depth int) error {
	if v.IsNil() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	if !validMapKey(v.Type().Key()) {
		return &json.UnsupportedTypeError{Type: v.Type()}
	}
	entries := make([]mapEntry, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		k, err := mapKey(it.Key())
		if err != nil {
			return err
		}
		entries = append(entries, mapEntry{k, it.Value()})
	}
	slices.SortFunc(entries, func(a, b mapEntry) int { return strings.Compare(a.key, b.key) })
	e.buf = append(e.buf, '{')
	for i, en := range entries {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendJSONString(e.buf, en.key)
		e.buf = append(e.buf, ':')
		if err := e.value(en.val, depth+1); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// validMapKey reports whether encoding/json accepts map keys of type t.
func validMapKey(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return t.Implements(textMarshalerType)
}

// mapKey returns the JSON object key for the map key k, as encoding/json
// does: strings as they are, then text marshalers, then integers.
func mapKey(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String {
		return k.String(), nil
	}
	if k.Type().Implements(textMarshalerType) {
		if k.Kind() == reflect.Pointer && k.IsNil() {
			return "", nil
		}
		if !k.CanInterface() {
			return "", &json.UnsupportedTypeError{Type: k.Type()}
		}
		b, err := k.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return "", &json.MarshalerError{Type: k.Type(), Err: err}
		}
		return string(b), nil
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	return "", &json.UnsupportedTypeError{Type: k.Type()}
}

func (e *argEncoder) structValue(v reflect.Value, depth int) error {
	fields := fieldsOf(v.Type())
	e.buf = append(e.buf, '{')
	first := true
	for i := range fields {
		f := &fields[i]
		fv, ok := fieldValue(v, f.index)
		if !ok || f.omitEmpty && isEmptyValue(fv) || f.omitZero && f.isZero(fv) {
			continue
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		e.buf = append(e.buf, f.key...)
		var err error
		if f.quoted {
			err = e.quoted(fv, depth+1)
		} else {
			err = e.value(fv, depth+1)
		}
		if err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// fieldValue returns the field of the struct v at index, or false when the
// path goes through a nil embedded pointer.
func fieldValue(v reflect.Value, index []int) (reflect.Value, bool) {
	for n, i := range index {
		if n > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(i)
	}
	return v, true
}

// isEmptyValue reports whether v is empty for the omitempty option.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Struct, reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return false
	}
	return v.IsZero()
}

func isScalarKind(k reflect.Kind) bool {
	switch k {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	}
	return false
}

// appendJSONFloat appends f as encoding/json writes it: like JavaScript,
// in plain notation from 1e-6 to 1e21 and in exponent notation outside,
// with no leading zero in the exponent.
func appendJSONFloat(dst []byte, f float64, bits int) []byte {
	format := byte('f')
	if a := math.Abs(f); a != 0 {
		if bits == 64 && (a < 1e-6 || a >= 1e21) || bits == 32 && (float32(a) < 1e-6 || float32(a) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// appendJSONString appends s as a JSON string the way encoding/json writes
// it: <, > and & escaped for HTML, invalid UTF-8 replaced by U+FFFD, and
// U+2028 and U+2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// typeInfo is what MarshalArgs needs to know about a type.
type typeInfo struct {
	binary       bool // values may hold []byte that MarshalArgs extracts
	marshaler    bool // encoding/json encodes the type with a method (or is json.Number)
	ptrMarshaler bool // only the pointer type has the method
	byteSlice    bool // a slice that encoding/json writes as base64
}

// typeInfos caches typeInfo by reflect.Type.
var typeInfos sync.Map

func infoOf(t reflect.Type) *typeInfo {
	if v, ok := typeInfos.Load(t); ok {
		return v.(*typeInfo)
	}
	info := &typeInfo{byteSlice: isByteSlice(t)}
	info.marshaler, info.ptrMarshaler = marshalerKind(t)
	info.binary = mayHoldBinary(t, make(map[reflect.Type]bool))
	v, _ := typeInfos.LoadOrStore(t, info)
	return v.(*typeInfo)
}

// marshalerKind reports whether encoding/json encodes values of type t
// through a MarshalJSON or MarshalText method, and whether only *t has it.
func marshalerKind(t reflect.Type) (marshaler, ptrOnly bool) {
	if t == numberType || implementsMarshaler(t) {
		return true, false
	}
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && implementsMarshaler(reflect.PointerTo(t)) {
		return true, true
	}
	return false, false
}

func implementsMarshaler(t reflect.Type) bool {
	return t.Implements(marshalerType) || t.Implements(textMarshalerType)
}

// isByteSlice reports whether encoding/json writes values of type t as
// base64, which makes them attachments for MarshalArgs.
func isByteSlice(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 &&
		!implementsMarshaler(reflect.PointerTo(t.Elem()))
}

// mayHoldBinary reports whether a value of type t may hold a binary value
// that MarshalArgs extracts. seen holds the types already visited in this
// search, which count as holding nothing: every type reachable from the
// first one is visited once, so the answer is exact for that first type
// (though not necessarily for the others, which are therefore not cached).
func mayHoldBinary(t reflect.Type, seen map[reflect.Type]bool) bool {
	if v, ok := typeInfos.Load(t); ok {
		return v.(*typeInfo).binary
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	if m, _ := marshalerKind(t); m {
		return false
	}
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Slice:
		return isByteSlice(t) || mayHoldBinary(t.Elem(), seen)
	case reflect.Array, reflect.Pointer, reflect.Map:
		return mayHoldBinary(t.Elem(), seen)
	case reflect.Struct:
		for _, f := range fieldsOf(t) {
			if mayHoldBinary(f.typ, seen) {
				return true
			}
		}
	}
	return false
}

// zeroKind says how a field with the omitzero option decides it is zero.
type zeroKind uint8

const (
	zeroByValue     zeroKind = iota // reflect.Value.IsZero
	zeroByMethod                    // the field type has an IsZero method
	zeroByPtrMethod                 // the pointer to the field type has one
)

// structField is one field as encoding/json sees it.
type structField struct {
	name      string
	key       []byte // the JSON name followed by ':'
	index     []int
	typ       reflect.Type
	tagged    bool // the name comes from the tag
	omitEmpty bool
	omitZero  bool
	zero      zeroKind
	quoted    bool // the ",string" option applies
}

// isZero reports whether v is zero for the omitzero option.
func (f *structField) isZero(v reflect.Value) bool {
	switch f.zero {
	case zeroByMethod:
		if k := v.Kind(); k == reflect.Interface || k == reflect.Pointer {
			if v.IsNil() {
				return true
			}
			if k == reflect.Interface && v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil() {
				return true
			}
		}
		if v.CanInterface() {
			if z, ok := v.Interface().(zeroer); ok {
				return z.IsZero()
			}
		}
	case zeroByPtrMethod:
		if v.CanInterface() {
			if !v.CanAddr() {
				c := reflect.New(v.Type()).Elem()
				c.Set(v)
				v = c
			}
			return v.Addr().Interface().(zeroer).IsZero()
		}
	}
	return v.IsZero()
}

// structFields caches the fields of struct types by reflect.Type.
var structFields sync.Map

func fieldsOf(t reflect.Type) []structField {
	if v, ok := structFields.Load(t); ok {
		return v.([]structField)
	}
	v, _ := structFields.LoadOrStore(t, typeFields(t))
	return v.([]structField)
}

// typeFields lists the fields encoding/json encodes for the struct type t,
// in encoding order, applying Go's rules for promoted fields with the json
// twist that a tagged field beats an untagged one at the same depth.
func typeFields(t reflect.Type) []structField {
	type embedded struct {
		typ   reflect.Type
		index []int
	}
	var fields []structField
	var level, next []embedded
	next = append(next, embedded{typ: t})
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}

	// Breadth first, so that shallower fields come first.
	for len(next) > 0 {
		level, next = next, level[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, em := range level {
			if visited[em.typ] {
				continue
			}
			visited[em.typ] = true
			for i := range em.typ.NumField() {
				sf := em.typ.Field(i)
				if sf.Anonymous {
					et := sf.Type
					if et.Kind() == reflect.Pointer {
						et = et.Elem()
					}
					if !sf.IsExported() && et.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !validFieldName(name) {
					name = ""
				}
				index := append(slices.Clip(em.index), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
					// An untagged embedded struct: promote its fields.
					nextCount[ft]++
					if nextCount[ft] == 1 {
						next = append(next, embedded{typ: ft, index: index})
					}
					continue
				}
				f := structField{
					name:      name,
					index:     index,
					typ:       sf.Type,
					tagged:    name != "",
					omitEmpty: hasOption(opts, "omitempty"),
					omitZero:  hasOption(opts, "omitzero"),
					quoted:    hasOption(opts, "string") && isScalarKind(ft.Kind()),
				}
				if f.name == "" {
					f.name = sf.Name
				}
				if f.omitZero {
					f.zero = zeroKindOf(sf.Type)
				}
				fields = append(fields, f)
				if count[em.typ] > 1 {
					// The struct was embedded twice at this depth: record
					// the field twice so that the conflict hides it.
					fields = append(fields, f)
				}
			}
		}
	}

	slices.SortFunc(fields, func(a, b structField) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := len(a.index) - len(b.index); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.index, b.index)
	})
	// Of the fields sharing a name, keep the shallowest, or the tagged one
	// at the shallowest depth; a tie hides them all.
	out := fields[:0]
	for i := 0; i < len(fields); {
		j := i + 1
		for j < len(fields) && fields[j].name == fields[i].name {
			j++
		}
		if j == i+1 || len(fields[i].index) < len(fields[i+1].index) || fields[i].tagged != fields[i+1].tagged {
			out = append(out, fields[i])
		}
		i = j
	}
	slices.SortFunc(out, func(a, b structField) int { return slices.Compare(a.index, b.index) })
	for i := range out {
		out[i].key = append(appendJSONString(nil, out[i].name), ':')
	}
	return slices.Clip(out)
}

// zeroKindOf returns how omitzero tests fields of type t.
func zeroKindOf(t reflect.Type) zeroKind {
	switch {
	case t.Implements(zeroerType):
		return zeroByMethod
	case t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && reflect.PointerTo(t).Implements(zeroerType):
		return zeroByPtrMethod
	}
	return zeroByValue
}

// hasOption reports whether the comma-separated tag options opts contain
// name.
func hasOption(opts, name string) bool {
	for opt := range strings.SplitSeq(opts, ",") {
		if opt == name {
			return true
		}
	}
	return false
}

// validFieldName reports whether encoding/json accepts name from a tag.
func validFieldName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}
