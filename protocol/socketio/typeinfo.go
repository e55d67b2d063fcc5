package socketio

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode"
)

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
