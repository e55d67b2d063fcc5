package engineio_test

// Fuzz targets for the decoders. Beyond the f.Add seeds below, committed
// seeds live in testdata/fuzz/<FuzzName>/; plain `go test` runs all of them.
//
//	go test -run '^$' -fuzz '^FuzzDecodePayload$' -fuzztime 2m -parallel 1 ./protocol/engineio

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sioagent/sioagent/protocol/engineio"
)

// FuzzDecodeText checks that DecodeText never panics, that every error wraps
// ErrInvalidPacket, and that a decoded frame re-encodes to exactly itself
// (the text encoding is canonical).
func FuzzDecodeText(f *testing.F) {
	for _, tc := range codecTextGolden {
		f.Add([]byte(tc.wire))
	}
	for _, s := range []string{"", "7", "9", "a", "a123", "abc", "b", "bAQIDBA==", "\xff", "/"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		p, err := engineio.DecodeText(frame)
		if err != nil {
			if !errors.Is(err, engineio.ErrInvalidPacket) {
				t.Fatalf("DecodeText(%q): error %v does not wrap ErrInvalidPacket", frame, err)
			}
			if !reflect.DeepEqual(p, engineio.Packet{}) {
				t.Fatalf("DecodeText(%q): non-zero packet %s with error", frame, codecFmtPacket(p))
			}
			return
		}
		if p.Type > engineio.Noop || p.Binary {
			t.Fatalf("DecodeText(%q) = %s: bad type or binary flag", frame, codecFmtPacket(p))
		}
		if enc := engineio.EncodeText(nil, p); !bytes.Equal(enc, frame) {
			t.Fatalf("EncodeText(DecodeText(%q)) = %q", frame, enc)
		}
		// The same bytes as a binary frame are one binary message.
		if b := engineio.DecodeBinary(frame); !b.Binary || b.Type != engineio.Message || !bytes.Equal(b.Data, frame) {
			t.Fatalf("DecodeBinary(%q) = %s", frame, codecFmtPacket(b))
		}
	})
}

// FuzzDecodePayload checks that DecodePayload never panics, that every error
// wraps ErrInvalidPacket, and that a decoded payload re-encodes to a body
// that decodes to equal packets (and is a fixed point of decode+encode). A
// payload of text records only re-encodes to exactly the input.
func FuzzDecodePayload(f *testing.F) {
	for _, tc := range codecPayloadGolden {
		f.Add([]byte(tc.wire))
	}
	for _, s := range []string{
		"", "\x1e", "4a\x1e\x1e4b", "4a\x1e", "b!!!", "bAQIDBA=", "bAQ==AQ==",
		"abc", "{", `["a123", "a456"]`, "bAQID\nBA==", "bAR=", "4a\x1ebAQ\r\nID",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		packets, err := engineio.DecodePayload(body)
		if err != nil {
			if !errors.Is(err, engineio.ErrInvalidPacket) {
				t.Fatalf("DecodePayload(%q): error %v does not wrap ErrInvalidPacket", body, err)
			}
			if packets != nil {
				t.Fatalf("DecodePayload(%q): packets %s with error", body, codecFmtPackets(packets))
			}
			return
		}
		if len(packets) == 0 {
			t.Fatalf("DecodePayload(%q): no packets and no error", body)
		}
		if want := bytes.Count(body, []byte{engineio.RecordSeparator}) + 1; len(packets) != want {
			t.Fatalf("DecodePayload(%q): %d packets, want one per record (%d)", body, len(packets), want)
		}
		allText := true
		for _, p := range packets {
			if p.Type > engineio.Noop || (p.Binary && p.Type != engineio.Message) {
				t.Fatalf("DecodePayload(%q): bad packet %s", body, codecFmtPacket(p))
			}
			if !p.Binary && bytes.IndexByte(p.Data, engineio.RecordSeparator) >= 0 {
				t.Fatalf("DecodePayload(%q): text packet %s holds a separator", body, codecFmtPacket(p))
			}
			allText = allText && !p.Binary
		}

		enc := engineio.EncodePayload(nil, packets)
		if allText && !bytes.Equal(enc, body) {
			t.Fatalf("text payload %q re-encoded to %q", body, enc)
		}
		back, err := engineio.DecodePayload(enc)
		if err != nil {
			t.Fatalf("DecodePayload(EncodePayload(DecodePayload(%q)) = %q): %v", body, enc, err)
		}
		if !codecPacketsEqual(back, packets) {
			t.Fatalf("payload %q: re-encoded %q decodes to %s, want %s", body, enc, codecFmtPackets(back), codecFmtPackets(packets))
		}
		if enc2 := engineio.EncodePayload(nil, back); !bytes.Equal(enc2, enc) {
			t.Fatalf("payload %q: encoding is not canonical: %q then %q", body, enc, enc2)
		}

		size := 0
		for _, p := range packets {
			size += engineio.PayloadSize(p)
		}
		if size != len(enc)+1 {
			t.Fatalf("payload %q: sum of PayloadSize = %d, len(EncodePayload) = %d", body, size, len(enc))
		}
	})
}

// FuzzParseHandshake checks that ParseHandshake never panics, that every
// error wraps ErrInvalidPacket, that an accepted handshake satisfies the
// documented checks, and that it survives a JSON round trip.
func FuzzParseHandshake(f *testing.F) {
	for _, s := range []string{
		codecDocHandshake,
		codecDocHandshakePretty,
		codecSampleSessionOpen[1:],
		`{"sid":"s","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`,
		`{"sid":"x","pingInterval":25000,"pingTimeout":20000}`,
		`{"sid":"","pingInterval":25000,"pingTimeout":20000}`,
		`{"sid":"x","pingInterval":0,"pingTimeout":20000}`,
		`{"sid":"x","pingInterval":-1,"pingTimeout":20000}`,
		`{"sid":"x","pingInterval":9223372036854775807,"pingTimeout":9223372036854775807}`,
		`{"sid":"x","pingInterval":25000,"pingTimeout":20000,"maxPayload":-1}`,
		`{"sid":1}`, `null`, `[]`, `{`, ``, `not json`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := engineio.ParseHandshake(data)
		if err != nil {
			if !errors.Is(err, engineio.ErrInvalidPacket) {
				t.Fatalf("ParseHandshake(%q): error %v does not wrap ErrInvalidPacket", data, err)
			}
			if !reflect.DeepEqual(h, engineio.Handshake{}) {
				t.Fatalf("ParseHandshake(%q): non-zero %+v with error", data, h)
			}
			return
		}
		if h.SID == "" || h.PingInterval <= 0 || h.PingTimeout <= 0 || h.MaxPayload < 0 {
			t.Fatalf("ParseHandshake(%q) accepted %+v", data, h)
		}
		if d := time.Duration(h.PingInterval+h.PingTimeout) * time.Millisecond; d <= 0 ||
			d/time.Millisecond != time.Duration(h.PingInterval+h.PingTimeout) {
			t.Fatalf("ParseHandshake(%q) accepted %+v: pingInterval+pingTimeout overflows (%v)", data, h, d)
		}
		b, err := json.Marshal(h)
		if err != nil {
			t.Fatalf("json.Marshal(%+v): %v", h, err)
		}
		h2, err := engineio.ParseHandshake(b)
		if err != nil {
			t.Fatalf("ParseHandshake(%s) (re-marshalled from %q): %v", b, data, err)
		}
		if !reflect.DeepEqual(h2, h) {
			t.Fatalf("JSON round trip of %q: %+v != %+v", data, h2, h)
		}
	})
}
