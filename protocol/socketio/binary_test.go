package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

// inlined returns data with every placeholder replaced by the base64
// string of its attachment: what encoding/json writes for the same value.
func inlined(t *testing.T, data []byte, attachments [][]byte) string {
	t.Helper()
	if len(attachments) == 0 {
		return string(data)
	}
	if !json.Valid(data) {
		t.Fatalf("invalid JSON %q", data)
	}
	out, err := inlineAttachments(data, findPlaceholders(data, len(attachments), nil), attachments)
	if err != nil {
		t.Fatalf("inlineAttachments(%q): %v", data, err)
	}
	return string(out)
}

func TestMarshalArgsReferenceExamples(t *testing.T) {
	bin := []byte{1, 2, 3, 4}
	cases := []struct {
		name  string
		args  []any
		want  string
		attch [][]byte
	}{
		{"doc example", []any{"baz", bin}, `["baz",` + ph(0) + `]`, [][]byte{bin}},
		{"two buffers", []any{"baz", []byte{1, 2}, []byte{3, 4}}, `["baz",` + ph(0) + `,` + ph(1) + `]`, [][]byte{{1, 2}, {3, 4}}},
		{"nested depth first", []any{map[string]any{"a": []any{[]byte{1}, map[string]any{"b": []byte{2}}}}},
			`[{"a":[` + ph(0) + `,{"b":` + ph(1) + `}]}]`, [][]byte{{1}, {2}}},
		{"sorted keys decide the order", []any{map[string]any{"z": []byte{1}, "a": []byte{2}}},
			`[{"a":` + ph(0) + `,"z":` + ph(1) + `}]`, [][]byte{{2}, {1}}},
		{"no binary", []any{"a", 1, 2.5, true, nil, map[string]any{"k": "v"}}, `["a",1,2.5,true,null,{"k":"v"}]`, nil},
		{"no args", nil, `[]`, nil},
		{"nil byte slice is null", []any{[]byte(nil)}, `[null]`, nil},
		{"empty byte slice is an attachment", []any{[]byte{}}, `[` + ph(0) + `]`, [][]byte{{}}},
		{"raw message is JSON", []any{json.RawMessage(`{"x":[1, 2]}`)}, `[{"x":[1,2]}]`, nil},
		{"same slice twice", []any{bin, bin}, `[` + ph(0) + `,` + ph(1) + `]`, [][]byte{bin, bin}},
	}
	for _, tc := range cases {
		data, atts, err := MarshalArgs(tc.args...)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if string(data) != tc.want {
			t.Errorf("%s: data %s, want %s", tc.name, data, tc.want)
		}
		if len(atts) != len(tc.attch) {
			t.Errorf("%s: %d attachments, want %d", tc.name, len(atts), len(tc.attch))
			continue
		}
		for i := range atts {
			if !bytes.Equal(atts[i], tc.attch[i]) || atts[i] == nil {
				t.Errorf("%s: attachment %d = %v, want %v", tc.name, i, atts[i], tc.attch[i])
			}
		}
	}
}

func TestMarshalArgsAliasesAttachments(t *testing.T) {
	b := []byte{1, 2}
	_, atts, err := MarshalArgs(b)
	if err != nil {
		t.Fatal(err)
	}
	if &atts[0][0] != &b[0] {
		t.Error("attachment is a copy; documented as the caller's slice")
	}
}

// Types for the struct tests. Each has a field that may hold binary data, so
// that MarshalArgs walks it instead of handing it to encoding/json.

type blob []byte

type reading struct {
	Name    string            `json:"name"`
	Value   float64           `json:"value,omitempty"`
	Unit    string            `json:"unit,omitempty"`
	Raw     []byte            `json:"raw"`
	Extra   []byte            `json:"extra,omitempty"`
	Skipped []byte            `json:"-"`
	Dash    []byte            `json:"-,"`
	Count   int64             `json:"count,string"`
	Label   string            `json:"label,string,omitempty"`
	Ptr     *[]byte           `json:"ptr,omitempty"`
	Blob    blob              `json:"blob,omitempty"`
	Arr     [2]byte           `json:"arr"`
	Attrs   map[string][]byte `json:"attrs,omitempty"`
	When    time.Time         `json:"when,omitzero"`
	Any     any               `json:"any,omitempty"`
	private []byte
	Untag   []byte
}

type Inner struct {
	A    []byte `json:"a"`
	B    int
	Name string `json:"name"`
}

type Other struct {
	B    string
	C    []byte `json:"c,omitempty"`
	Name string `json:"name"`
}

type withEmbedded struct {
	Inner         // promotes A, B
	*Other        // B conflicts at depth 1, untagged both: hidden; C promoted
	Name   string `json:"name"` // depth 0 beats the promoted names
	X      any    `json:"x"`
}

type inner2 struct {
	Data []byte `json:"data"`
}

type withUnexportedEmbedded struct {
	inner2        // unexported, but its exported fields are promoted
	Z      []byte `json:"z"`
}

type inner3 struct{ N int }

type byteLike uint8

type withUnexportedPtrEmbedded struct {
	*inner2        // nil or not, through an unexported embedded pointer
	Z       []byte `json:"z"`
}

type withTaggedUnexported struct {
	inner2 `json:"in2"` // a tag makes the unexported embedded struct a field
	inner3 `json:"in3"`
	Z      []byte `json:"z"`
}

type taggedEmbedded struct {
	Inner `json:"inner"` // a tag makes it a field, not promoted
	W     []byte         `json:"w"`
}

type zeroByMethodT struct{ v int }

func (z zeroByMethodT) IsZero() bool                 { return z.v < 0 }
func (z zeroByMethodT) MarshalJSON() ([]byte, error) { return []byte(fmt.Sprint(z.v)), nil }

type withOmitZero struct {
	Z  zeroByMethodT   `json:"z,omitzero"`
	P  *zeroByMethodT  `json:"p,omitzero"`
	B  []byte          `json:"b,omitzero"`
	S  struct{ A int } `json:"s,omitzero"`
	Bi []byte          `json:"bi"`
}

type ptrMarshaler struct{ N int }

func (p *ptrMarshaler) MarshalJSON() ([]byte, error) { return []byte(`"ptr"`), nil }

type withPtrMarshaler struct {
	V ptrMarshaler  `json:"v"`
	P *ptrMarshaler `json:"p"`
	B []byte        `json:"b"`
}

type textKey int

func (k textKey) MarshalText() ([]byte, error) { return []byte(fmt.Sprintf("k%d", int(k))), nil }

// marshalerWithBinary hides its binary field behind MarshalJSON, so it is
// not extracted.
type marshalerWithBinary struct{ B []byte }

func (m marshalerWithBinary) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string][]byte{"hidden": m.B})
}

// TestMarshalValueMatchesEncodingJSON checks that, for values of all
// shapes, MarshalValue writes exactly what encoding/json writes once each
// placeholder is replaced by the base64 string of its attachment.
func TestMarshalValueMatchesEncodingJSON(t *testing.T) {
	bs := []byte("bytes")
	ip := netip.MustParseAddr("192.0.2.1")
	values := []any{
		nil, "", "a<b>&c\u2028\x01\xff", 0, -1.5, 1e21, 1e-7, float32(3.4e38), true,
		[]byte{1}, blob{2}, [3]byte{1, 2, 3}, &bs, (*[]byte)(nil),
		[]any{1, []byte{9}, []any{[]byte{8}, "x"}},
		map[string]any{"b": []byte{1}, "a": map[string]any{"c": []byte{2}}, "<": nil},
		map[int][]byte{10: {1}, 2: {2}, -3: {3}},
		map[uint8]any{1: []byte{1}},
		map[textKey][]byte{2: {2}, 1: {1}},
		map[string]blob{"x": {1}, "y": nil},
		[][]byte{{1}, nil, {}},
		[2][]byte{{1}, {2}},
		reading{Name: "t", Value: 21.5, Raw: []byte{1, 2}, Skipped: []byte{3}, Dash: []byte{4}, Count: 7, Label: `q"<`,
			Blob: blob{5}, Arr: [2]byte{6, 7}, Attrs: map[string][]byte{"k": {8}}, Any: []any{[]byte{9}}, private: []byte{10}, Untag: []byte{11}},
		&reading{Name: "empty"},
		withEmbedded{Inner: Inner{A: []byte{1}, B: 2, Name: "inner"}, Other: &Other{B: "o", C: []byte{3}}, Name: "top", X: []byte{4}},
		withEmbedded{Inner: Inner{A: []byte{1}}, X: map[string]any{"y": []byte{4}}},
		withUnexportedEmbedded{inner2: inner2{Data: []byte{1}}, Z: []byte{2}},
		taggedEmbedded{Inner: Inner{A: []byte{1}}, W: []byte{2}},
		withUnexportedPtrEmbedded{Z: []byte{1}},
		withUnexportedPtrEmbedded{inner2: &inner2{Data: []byte{2}}, Z: []byte{1}},
		withTaggedUnexported{inner2: inner2{Data: []byte{2}}, inner3: inner3{N: 3}, Z: []byte{1}},
		[]byteLike{1, 2}, map[string][]byteLike{"a": {3}},
		withOmitZero{Z: zeroByMethodT{-1}, Bi: []byte{1}},
		withOmitZero{Z: zeroByMethodT{0}, P: &zeroByMethodT{-1}, B: []byte{}, S: struct{ A int }{1}},
		withPtrMarshaler{B: []byte{1}},
		&withPtrMarshaler{P: &ptrMarshaler{}, B: []byte{1}},
		[]withPtrMarshaler{{B: []byte{1}}},
		[]any{marshalerWithBinary{B: []byte{1}}, []byte{2}},
		[]any{ip, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), json.Number("12.5e3"), []byte{3}},
		struct {
			N json.Number `json:"n,string"`
			F float32     `json:"f,string"`
			P *int        `json:"p,string"`
			B []byte
		}{N: "5", F: 1.5, B: []byte{1}},
	}
	for i, v := range values {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%d: json.Marshal(%#v): %v", i, v, err)
		}
		data, atts, err := MarshalValue(v)
		if err != nil {
			t.Errorf("%d: MarshalValue(%#v): %v", i, v, err)
			continue
		}
		if got := inlined(t, data, atts); got != string(want) {
			t.Errorf("%d: MarshalValue(%#v)\n got %s\n (raw %s)\nwant %s", i, v, got, data, want)
		}
	}
}

func TestMarshalValueStructs(t *testing.T) {
	data, atts, err := MarshalValue(withEmbedded{
		Inner: Inner{A: []byte{1}, B: 2},
		Other: &Other{B: "o", C: []byte{3}},
		Name:  "top",
		X:     []byte{4},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":` + ph(0) + `,"c":` + ph(1) + `,"name":"top","x":` + ph(2) + `}`
	if string(data) != want {
		t.Errorf("data %s\nwant %s", data, want)
	}
	if len(atts) != 3 || atts[0][0] != 1 || atts[1][0] != 3 || atts[2][0] != 4 {
		t.Errorf("attachments %v", atts)
	}

	// A nil embedded pointer contributes nothing.
	data, _, err = MarshalValue(withEmbedded{Inner: Inner{A: []byte{1}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":` + ph(0) + `,"name":"","x":null}`; string(data) != want {
		t.Errorf("data %s\nwant %s", data, want)
	}

	// Binary inside a json.Marshaler stays inside it, as base64.
	data, atts, err = MarshalArgs(marshalerWithBinary{B: []byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != `[{"hidden":"AQ=="}]` || len(atts) != 0 {
		t.Errorf("marshaler: %s %v", data, atts)
	}
}

func TestMarshalErrors(t *testing.T) {
	type cyclic struct {
		Next *cyclic
		Data []byte
	}
	c := &cyclic{Data: []byte{1}}
	c.Next = c
	m := map[string]any{}
	m["self"] = m
	s := []any{nil}
	s[0] = s

	cases := []struct {
		name string
		v    any
		want any // error type or value
	}{
		{"cyclic struct", c, errTooDeep},
		{"cyclic map", m, errTooDeep},
		{"cyclic slice", s, errTooDeep},
		{"NaN", math.NaN(), new(*json.UnsupportedValueError)},
		{"Inf in a struct", struct {
			F float64
			B []byte
		}{F: math.Inf(1)}, new(*json.UnsupportedValueError)},
		{"channel", make(chan int), new(*json.UnsupportedTypeError)},
		{"func in a binary struct", struct {
			F func()
			B []byte
		}{F: func() {}}, new(*json.UnsupportedTypeError)},
		{"bad map key with binary", map[[2]int][]byte{{1, 2}: {1}}, new(*json.UnsupportedTypeError)},
		{"bad map key, empty", map[[2]int][]byte{}, new(*json.UnsupportedTypeError)},
		{"invalid raw message", json.RawMessage(`{`), new(*json.MarshalerError)},
	}
	for _, tc := range cases {
		_, _, err := MarshalArgs(tc.v)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		switch w := tc.want.(type) {
		case error:
			if !errors.Is(err, w) {
				t.Errorf("%s: err = %v, want %v", tc.name, err, w)
			}
		default:
			if !errors.As(err, w) {
				t.Errorf("%s: err = %T %v, want %T", tc.name, err, err, w)
			}
		}
	}
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", "\"\\/", "\b\f\n\r\t\x00\x1f\x7f", "<>&", "\u2028\u2029\u2030",
		"\xff", "a\xc3", "\xed\xa0\x80", "日本語", "\U0001F600", "\ufffd"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			switch r.IntN(3) {
			case 0:
				b[i] = byte(r.IntN(0x80))
			case 1:
				b[i] = byte(0x80 + r.IntN(0x80))
			default:
				b[i] = "\"\\<>&\xe2\x80\xa8"[r.IntN(8)]
			}
		}
		strs = append(strs, string(b))
	}
	for _, s := range strs {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestAppendJSONFloatMatchesEncodingJSON(t *testing.T) {
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.999999e-7, 1e-7, 1e20, 1e21, 123456789012345678901234,
		math.MaxFloat64, math.SmallestNonzeroFloat64, math.MaxFloat32, 5e-324, 1.5e-10}
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		if f := math.Float64frombits(r.Uint64()); !math.IsNaN(f) && !math.IsInf(f, 0) {
			floats = append(floats, f)
		}
	}
	for _, f := range floats {
		want, _ := json.Marshal(f)
		if got := appendJSONFloat(nil, f, 64); string(got) != string(want) {
			t.Errorf("appendJSONFloat(%g, 64) = %s, want %s", f, got, want)
		}
		f32 := float32(f)
		if math.IsInf(float64(f32), 0) {
			continue
		}
		want, _ = json.Marshal(f32)
		if got := appendJSONFloat(nil, float64(f32), 32); string(got) != string(want) {
			t.Errorf("appendJSONFloat(%g, 32) = %s, want %s", f32, got, want)
		}
	}
}

type telemetryHeader struct {
	DeviceID    string `json:"deviceId"`
	Seq         uint64 `json:"seq"`
	Count       int    `json:"count"`
	ContentType string `json:"contentType"`
}

type commandReply struct {
	OK     bool              `json:"ok"`
	Result map[string][]byte `json:"result,omitempty"`
	Pack   []byte            `json:"pack"`
	Note   *string           `json:"note"`
}

func TestRoundTripThroughPacket(t *testing.T) {
	hdr := telemetryHeader{DeviceID: "pi-7", Seq: 1042, Count: 12, ContentType: "application/senml+cbor"}
	pack := []byte{0x81, 0xa2, 0x00, 0x61, 0x78}
	reply := commandReply{OK: true, Result: map[string][]byte{"x": {1}, "y": {2}}, Pack: []byte{3, 4}}

	data, atts, err := MarshalArgs("telemetry", hdr, pack, reply)
	if err != nil {
		t.Fatal(err)
	}
	p := Packet{Type: PacketBinaryEvent, Namespace: "/devices", ID: 9, HasID: true, Data: data, Attachments: atts}
	if err := p.Validate(0); err != nil {
		t.Fatal(err)
	}
	var d Decoder
	got, err := decodeAll(t, &d, string(AppendPacket(nil, &p)), p.Attachments)
	if err != nil {
		t.Fatal(err)
	}
	args, err := SplitArray(got.Data)
	if err != nil || len(args) != 4 {
		t.Fatalf("SplitArray: %d args, %v", len(args), err)
	}
	var name string
	var hdr2 telemetryHeader
	var pack2 []byte
	var reply2 commandReply
	for i, v := range []any{&name, &hdr2, &pack2, &reply2} {
		if err := UnmarshalArg(args[i], got.Attachments, v); err != nil {
			t.Fatalf("UnmarshalArg %d: %v", i, err)
		}
	}
	if name != "telemetry" || hdr2 != hdr || !bytes.Equal(pack2, pack) || !reflect.DeepEqual(reply2, reply) {
		t.Errorf("round trip: %q %+v %x %+v", name, hdr2, pack2, reply2)
	}

	var generic any
	if err := UnmarshalArg(args[3], got.Attachments, &generic); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"ok": true, "result": map[string]any{"x": []byte{1}, "y": []byte{2}}, "pack": []byte{3, 4}, "note": nil}
	if !reflect.DeepEqual(generic, want) {
		t.Errorf("generic %#v\nwant %#v", generic, want)
	}
}
