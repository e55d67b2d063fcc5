package socketio

import (
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"unicode/utf8"
)

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
	// sort.Slice, not slices.SortFunc: its code is in every binary already,
	// where a SortFunc of mapEntry adds about 9 KB of ARM code.
	sort.Slice(entries, func(i, j int) bool { return entries[i].key < entries[j].key })
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
