package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The decoding half of the payload codec: DecodeValue, UnmarshalArg,
// splitArray and the type cache.

func TestDecodeValue(t *testing.T) {
	atts := [][]byte{{1}, {2}}
	v, err := DecodeValue([]byte(`{"a":[`+ph(0)+`,{"b":`+ph(1)+`}],"n":1.50,"s":"x","t":true,"z":null}`), atts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"a": []any{[]byte{1}, map[string]any{"b": []byte{2}}},
		"n": json.Number("1.50"), "s": "x", "t": true, "z": nil,
	}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("DecodeValue = %#v\nwant %#v", v, want)
	}

	// A top-level placeholder.
	v, err = DecodeValue([]byte(ph(1)), atts)
	if err != nil || !bytes.Equal(v.([]byte), []byte{2}) {
		t.Errorf("top-level placeholder: %v, %v", v, err)
	}

	// Without attachments placeholders are plain objects, as in the reference.
	v, err = DecodeValue([]byte(ph(0)), nil)
	if err != nil || !reflect.DeepEqual(v, map[string]any{"_placeholder": true, "num": json.Number("0")}) {
		t.Errorf("no attachments: %#v, %v", v, err)
	}

	for _, raw := range []string{``, ` `, `{`, `[1,]`, `1 2`, `[` + ph(2) + `]`, `{"_placeholder":true,"num":"1"}`} {
		if _, err := DecodeValue([]byte(raw), atts); !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("DecodeValue(%q): err = %v, want ErrInvalidPacket", raw, err)
		}
	}
}

func TestUnmarshalArg(t *testing.T) {
	atts := [][]byte{{1, 2}, {3}}
	raw := []byte(`{"pack":` + ph(0) + `,"ok":true,"result":{"r":` + ph(1) + `}}`)

	var r commandReply
	if err := UnmarshalArg(raw, atts, &r); err != nil {
		t.Fatal(err)
	}
	if !r.OK || !bytes.Equal(r.Pack, []byte{1, 2}) || !bytes.Equal(r.Result["r"], []byte{3}) {
		t.Errorf("struct: %+v", r)
	}

	var m map[string]any
	if err := UnmarshalArg(raw, atts, &m); err != nil || !bytes.Equal(m["pack"].([]byte), []byte{1, 2}) {
		t.Errorf("*map[string]any: %#v, %v", m, err)
	}
	var s []any
	if err := UnmarshalArg([]byte(`[`+ph(1)+`]`), atts, &s); err != nil || !bytes.Equal(s[0].([]byte), []byte{3}) {
		t.Errorf("*[]any: %#v, %v", s, err)
	}
	var ute *json.UnmarshalTypeError
	if err := UnmarshalArg([]byte(`"x"`), atts, &s); !errors.As(err, &ute) {
		t.Errorf("*[]any from a string: err = %v", err)
	}
	if err := UnmarshalArg([]byte(`[1]`), atts, &m); !errors.As(err, &ute) {
		t.Errorf("*map[string]any from an array: err = %v", err)
	}

	// Into an interface field, binary arrives as base64.
	var loose struct{ Pack any }
	if err := UnmarshalArg([]byte(`{"Pack":`+ph(0)+`}`), atts, &loose); err != nil || loose.Pack != "AQI=" {
		t.Errorf("interface field: %#v, %v", loose, err)
	}

	// Errors.
	var b []byte
	if err := UnmarshalArg([]byte(ph(2)), atts, &b); !errors.Is(err, ErrInvalidPacket) {
		t.Errorf("out of range: err = %v", err)
	}
	if err := UnmarshalArg([]byte(`{"pack":`), atts, &r); !errors.Is(err, ErrInvalidPacket) {
		t.Errorf("bad JSON: err = %v", err)
	}
	var n int
	if err := UnmarshalArg([]byte(`"x"`), nil, &n); !errors.As(err, &ute) {
		t.Errorf("type mismatch: err = %T %v", err, err)
	}
	if err := UnmarshalArg([]byte(`1`), nil, (*any)(nil)); err == nil {
		t.Error("nil *any: no error")
	}
	if err := UnmarshalArg([]byte(`1`), nil, n); err == nil {
		t.Error("non-pointer: no error")
	}

	// Many placeholders naming one big attachment are refused.
	big := [][]byte{bytes.Repeat([]byte{7}, 1<<16)}
	many := `[` + strings.Repeat(ph(0)+`,`, 100) + `1]`
	var out [][]byte
	if err := UnmarshalArg([]byte(many), big, &out); !errors.Is(err, ErrInvalidPacket) {
		t.Errorf("amplification: err = %v", err)
	}
	// A few repetitions are fine.
	if err := UnmarshalArg([]byte(`[`+ph(0)+`,`+ph(0)+`]`), big, &out); err != nil || len(out) != 2 || len(out[1]) != 1<<16 {
		t.Errorf("repetition: %v", err)
	}
}

func TestSplitArray(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{`[]`, nil},
		{` [ ] `, nil},
		{`["a"]`, []string{`"a"`}},
		{`[ 1 , "x,]" , {"a":[1,{"b":"}"}]} ,[[]],null, -2.5e3 ,true]`, []string{`1`, `"x,]"`, `{"a":[1,{"b":"}"}]}`, `[[]]`, `null`, `-2.5e3`, `true`}},
		{"[\"\\\"\",\n{}\t]", []string{`"\""`, `{}`}},
	}
	for _, tc := range cases {
		got, err := SplitArray([]byte(tc.in))
		if err != nil {
			t.Errorf("SplitArray(%q): %v", tc.in, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("SplitArray(%q) = %q, want %q", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if string(got[i]) != tc.want[i] {
				t.Errorf("SplitArray(%q)[%d] = %q, want %q", tc.in, i, got[i], tc.want[i])
			}
			if cap(got[i]) != len(got[i]) {
				t.Errorf("SplitArray(%q)[%d] not capped", tc.in, i)
			}
		}
	}
	for _, in := range []string{``, `{}`, `"a"`, `[1,]`, `[1`, `[1]x`, `1`} {
		if _, err := SplitArray([]byte(in)); !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("SplitArray(%q): err = %v, want ErrInvalidPacket", in, err)
		}
	}
}

func TestTypeInfoRecursiveTypes(t *testing.T) {
	type list struct {
		Next *list
		N    int
	}
	type b struct{ A any }
	type a struct {
		B *b
		N int
	}
	type rec []rec
	type withBin struct {
		Next *withBin
		Data []byte
	}
	cases := []struct {
		v    any
		want bool
	}{
		{list{}, false},
		{a{}, true},
		{rec{}, false},
		{withBin{}, true},
		{map[string]*withBin{}, true},
		{json.RawMessage{}, false},
		{[4]byte{}, false},
		{blob{}, true},
		{time.Time{}, false},
		{marshalerWithBinary{}, false},
	}
	for _, tc := range cases {
		if got := infoOf(reflect.TypeOf(tc.v)).binary; got != tc.want {
			t.Errorf("%T: binary = %v, want %v", tc.v, got, tc.want)
		}
	}
}
