package socketio

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// Bits of FuzzDecode's plan argument.
const (
	planPieces      = 0x0f // the low bits: how many binary messages bin is cut into
	planBinaryFirst = 0x40 // send bin as a binary message before the text
	planTextAgain   = 0x80 // send the text again after the first binary message
)

// cut splits b into n pieces of nearly equal length (none when n is 0).
func cut(b []byte, n int) [][]byte {
	pieces := make([][]byte, 0, n)
	for i := range n {
		pieces = append(pieces, b[len(b)*i/n:len(b)*(i+1)/n])
	}
	return pieces
}

// FuzzDecode feeds a decoder a text message and a binary blob cut into
// messages, in an order chosen by plan. It checks that the decoder never
// panics, that its errors wrap ErrInvalidPacket, and that every packet it
// completes is valid and survives encoding and decoding again unchanged.
func FuzzDecode(f *testing.F) {
	for _, tc := range goldenCases {
		f.Add([]byte(tc.text), bytes.Join(tc.binary, nil), uint8(len(tc.binary)))
	}
	for _, tc := range invalidText {
		f.Add([]byte(tc.text), []byte{1, 2, 3}, uint8(1))
	}
	f.Add([]byte(`52-["a",`+ph(0)+`,`+ph(1)+`]`), []byte{1, 2}, uint8(2|planTextAgain))
	f.Add([]byte(`51-["a",`+ph(0)+`]`), []byte{9}, uint8(1|planBinaryFirst))

	f.Fuzz(func(t *testing.T, text, bin []byte, plan uint8) {
		var d Decoder
		var done []*Packet
		feed := func(frame []byte, binary bool) {
			p, err := d.Decode(frame, binary)
			switch {
			case err != nil && p != nil:
				t.Fatalf("Decode returned both %+v and %v", p, err)
			case err != nil && !errors.Is(err, ErrInvalidPacket):
				t.Fatalf("Decode error %v does not wrap ErrInvalidPacket", err)
			case p != nil:
				done = append(done, p)
			}
		}
		if plan&planBinaryFirst != 0 {
			feed(bin, true)
		}
		feed(text, false)
		for i, piece := range cut(bin, int(plan&planPieces)) {
			feed(piece, true)
			if i == 0 && plan&planTextAgain != 0 {
				feed(text, false)
			}
		}
		for _, p := range done {
			checkDecoded(t, p, d.limit())
		}
	})
}

// checkDecoded checks a packet returned by the decoder.
func checkDecoded(t *testing.T, p *Packet, limit int) {
	t.Helper()
	if err := p.Validate(limit); err != nil {
		t.Fatalf("decoded packet %+v does not validate: %v", p, err)
	}
	text := AppendPacket(nil, p)
	d := Decoder{MaxAttachments: limit}
	again, err := decodeAll(t, &d, string(text), p.Attachments)
	if err != nil {
		t.Fatalf("re-encoded %q does not decode: %v", text, err)
	}
	if diff := packetDiff(again, p); diff != "" {
		t.Fatalf("re-encoded %q decodes differently: %s", text, diff)
	}
	if text2 := AppendPacket(nil, again); !bytes.Equal(text, text2) {
		t.Fatalf("encoding not stable: %q then %q", text, text2)
	}
	if _, err := DecodeValue(p.Data, p.Attachments); p.Data != nil && err != nil {
		t.Fatalf("DecodeValue of decoded data %q: %v", p.Data, err)
	}
	if p.Data == nil || p.Data[0] != '[' {
		return
	}
	args, err := SplitArray(p.Data)
	if err != nil {
		t.Fatalf("SplitArray(%q): %v", p.Data, err)
	}
	for _, a := range args {
		var v any
		if err := UnmarshalArg(a, p.Attachments, &v); err != nil {
			t.Fatalf("UnmarshalArg(%q): %v", a, err)
		}
	}
}

// FuzzDecodeValue checks DecodeValue and UnmarshalArg against each other
// and against MarshalValue, with one attachment.
func FuzzDecodeValue(f *testing.F) {
	for _, s := range []string{
		`null`, `1`, `"s"`, `[]`, `{}`, ph(0), ph(1), `[` + ph(0) + `,{"a":` + ph(0) + `}]`,
		`{"_placeholder":true,"num":0.0}`, `{"_placeholder":true,"num":"0"}`, `{"_placeholder":false}`,
		`{"_placeholder":true,"num":0,"x":{"_placeholder":true,"num":7}}`,
		`{"\u005fplaceholder":true,"num":0}`, `{"_placeholder":true,"num":1,"num":0}`,
		`["a\u2028",1e400,-0,{"":[[[]]]}]`, `[1,`, "\xff",
	} {
		f.Add([]byte(s), []byte{1, 2, 3})
	}
	f.Fuzz(func(t *testing.T, raw, att []byte) {
		if att == nil {
			att = []byte{} // decoders never produce a nil attachment
		}
		atts := [][]byte{att}
		v, err := DecodeValue(raw, atts)
		if !json.Valid(raw) {
			if err == nil || !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("DecodeValue of invalid JSON %q: %v", raw, err)
			}
			var x any
			if err := UnmarshalArg(raw, atts, &x); err == nil {
				t.Fatalf("UnmarshalArg accepted invalid JSON %q", raw)
			}
			if _, err := SplitArray(raw); err == nil {
				t.Fatalf("SplitArray accepted invalid JSON %q", raw)
			}
			return
		}
		// The scanner used by the decoder and the tree walk agree.
		_, scanErr := checkPlaceholders(raw, len(atts), nil)
		if (scanErr == nil) != (err == nil) {
			t.Fatalf("%q: placeholder scan says %v, DecodeValue says %v", raw, scanErr, err)
		}
		var rewritten json.RawMessage
		rewriteErr := UnmarshalArg(raw, atts, &rewritten)
		if err != nil {
			if !errors.Is(err, ErrInvalidPacket) || !errors.Is(rewriteErr, ErrInvalidPacket) {
				t.Fatalf("%q: errors %v and %v", raw, err, rewriteErr)
			}
			return
		}

		var viaArg any
		if err := UnmarshalArg(raw, atts, &viaArg); err != nil || !reflect.DeepEqual(viaArg, v) {
			t.Fatalf("%q: UnmarshalArg into *any = %#v, %v; DecodeValue = %#v", raw, viaArg, err, v)
		}

		// Replacing placeholders by base64 strings gives the same tree
		// with strings in place of []byte.
		switch {
		case rewriteErr == nil:
			flat, err := DecodeValue(rewritten, nil)
			if err != nil {
				t.Fatalf("%q: rewritten %q: %v", raw, rewritten, err)
			}
			if want := bytesToBase64(v); !reflect.DeepEqual(flat, want) {
				t.Fatalf("%q: rewritten tree %#v, want %#v", raw, flat, want)
			}
		case !errors.Is(rewriteErr, ErrInvalidPacket):
			t.Fatalf("%q: UnmarshalArg: %v", raw, rewriteErr)
		}

		// MarshalValue writes the tree back.
		data, atts2, err := MarshalValue(v)
		if err != nil {
			t.Fatalf("MarshalValue(%#v): %v", v, err)
		}
		v2, err := DecodeValue(data, atts2)
		if err != nil || !reflect.DeepEqual(v2, v) {
			t.Fatalf("%q: MarshalValue gave %q, which decodes to %#v (%v), want %#v", raw, data, v2, err, v)
		}

		if raw := trimSpace(raw); raw[0] == '[' {
			elems, err := SplitArray(raw)
			if err != nil || len(elems) != len(v.([]any)) {
				t.Fatalf("SplitArray(%q) = %d elements, %v; want %d", raw, len(elems), err, len(v.([]any)))
			}
		}
	})
}

// bytesToBase64 returns a copy of the generic tree v with every []byte
// replaced by its base64 string.
func bytesToBase64(v any) any {
	switch x := v.(type) {
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = bytesToBase64(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = bytesToBase64(e)
		}
		return out
	}
	return v
}
