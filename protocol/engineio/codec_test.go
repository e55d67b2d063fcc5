package engineio_test

// Golden wire tables for the single-packet codec (EncodeText, DecodeText,
// DecodeBinary) and for ParseHandshake.
//
// The vectors are re-typed from the Engine.IO v4 protocol document
// (socketio/socket.io docs/engine.io-protocol/v4-current.md), the
// engine.io-parser unit tests (packages/engine.io-parser/test/{index,node}.ts)
// and the Engine.IO v4 server test suite
// (docs/engine.io-protocol/v4-test-suite/test-suite.js).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/protocol/engineio"
)

// Handshake JSON of the protocol document ("Handshake" section), compacted
// the way the Node server writes it.
const codecDocHandshake = `{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`

// The same example, exactly as the document prints it (pretty-printed).
const codecDocHandshakePretty = `{
  "sid": "lv_VI97HAXpY6yYWAAAC",
  "upgrades": ["websocket"],
  "pingInterval": 25000,
  "pingTimeout": 20000,
  "maxPayload": 1000000
}`

// Open packet of the Socket.IO protocol document's sample session (same sid,
// pingTimeout 5000).
const codecSampleSessionOpen = `0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000,"maxPayload":1000000}`

// codecPacketEqual compares packets by value; a nil and an empty Data are
// the same packet.
func codecPacketEqual(a, b engineio.Packet) bool {
	return a.Type == b.Type && a.Binary == b.Binary && bytes.Equal(a.Data, b.Data)
}

func codecPacketsEqual(a, b []engineio.Packet) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !codecPacketEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

func codecFmtPacket(p engineio.Packet) string {
	if p.Binary {
		return fmt.Sprintf("{%v binary % x}", p.Type, p.Data)
	}
	return fmt.Sprintf("{%v %q}", p.Type, p.Data)
}

func codecFmtPackets(ps []engineio.Packet) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = codecFmtPacket(p)
	}
	return "[" + strings.Join(s, " ") + "]"
}

func codecText(t engineio.PacketType, data string) engineio.Packet {
	return engineio.Packet{Type: t, Data: []byte(data)}
}

func codecBinary(data ...byte) engineio.Packet {
	return engineio.Packet{Type: engineio.Message, Data: data, Binary: true}
}

// codecTextGolden is every text frame of the sources, each with the packet it
// stands for. On WebSocket each is one text frame; on polling each is one
// record.
var codecTextGolden = []struct {
	name string
	wire string
	p    engineio.Packet
}{
	// Protocol document: handshake, heartbeat, upgrade, message.
	{"open doc handshake", "0" + codecDocHandshake, codecText(engineio.Open, codecDocHandshake)},
	{"open sample session", codecSampleSessionOpen, codecText(engineio.Open, codecSampleSessionOpen[1:])},
	{"open websocket only", `0{"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`,
		codecText(engineio.Open, `{"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`)},
	{"open no data", "0", codecText(engineio.Open, "")}, // parser test: { type: "open" }
	{"close", "1", codecText(engineio.Close, "")},
	{"ping", "2", codecText(engineio.Ping, "")},
	{"pong", "3", codecText(engineio.Pong, "")},
	{"ping probe", "2probe", codecText(engineio.Ping, "probe")},
	{"pong probe", "3probe", codecText(engineio.Pong, "probe")},
	{"message hello", "4hello", codecText(engineio.Message, "hello")},
	{"message test", "4test", codecText(engineio.Message, "test")}, // parser: "should encode/decode a string"
	{"upgrade", "5", codecText(engineio.Upgrade, "")},
	{"noop", "6", codecText(engineio.Noop, "")},
	// UTF-8 text is carried byte for byte (the v3->v4 note: "€" is 3 bytes).
	{"message utf8", "4€é😀", codecText(engineio.Message, "€é😀")},
	{"message 1€", "41€", codecText(engineio.Message, "1€")}, // parser stream test: bytes 52 49 226 130 172
	{"message empty", "4", codecText(engineio.Message, "")},
	// Socket.IO packets riding in Engine.IO messages (Socket.IO v5 document
	// and test suite).
	{"sio connect", "40", codecText(engineio.Message, "0")},
	{"sio connect auth", `40{"token":"123"}`, codecText(engineio.Message, `0{"token":"123"}`)},
	{"sio event", `42["hello"]`, codecText(engineio.Message, `2["hello"]`)},
	{"sio event ack", `42456["message-with-ack",1,"2",{"3":[false]}]`,
		codecText(engineio.Message, `2456["message-with-ack",1,"2",{"3":[false]}]`)},
	{"sio binary event", `451-["baz",{"_placeholder":true,"num":0}]`,
		codecText(engineio.Message, `51-["baz",{"_placeholder":true,"num":0}]`)},
	// Data is opaque: a record separator or NUL inside a WebSocket text frame
	// is just data (only polling gives 0x1e a meaning).
	{"message control bytes", "4a\x00b\x1ec", codecText(engineio.Message, "a\x00b\x1ec")},
}

func TestCodecTextGolden(t *testing.T) {
	for _, tc := range codecTextGolden {
		t.Run(tc.name, func(t *testing.T) {
			got, err := engineio.DecodeText([]byte(tc.wire))
			if err != nil {
				t.Fatalf("DecodeText(%q): %v", tc.wire, err)
			}
			if !codecPacketEqual(got, tc.p) {
				t.Errorf("DecodeText(%q) = %s, want %s", tc.wire, codecFmtPacket(got), codecFmtPacket(tc.p))
			}
			if got.Binary {
				t.Errorf("DecodeText(%q) returned a binary packet", tc.wire)
			}

			enc := engineio.EncodeText(nil, tc.p)
			if string(enc) != tc.wire {
				t.Errorf("EncodeText(%s) = %q, want %q", codecFmtPacket(tc.p), enc, tc.wire)
			}

			// Round trip: packet -> wire -> packet.
			back, err := engineio.DecodeText(enc)
			if err != nil || !codecPacketEqual(back, tc.p) {
				t.Errorf("round trip of %s = %s, %v", codecFmtPacket(tc.p), codecFmtPacket(back), err)
			}

			// A text packet is also a valid one-record polling payload
			// unless its data holds the record separator.
			if !strings.ContainsRune(tc.wire, engineio.RecordSeparator) {
				ps, err := engineio.DecodePayload([]byte(tc.wire))
				if err != nil || len(ps) != 1 || !codecPacketEqual(ps[0], tc.p) {
					t.Errorf("DecodePayload(%q) = %s, %v", tc.wire, codecFmtPackets(ps), err)
				}
			}
		})
	}
}

func TestCodecEncodeTextAppends(t *testing.T) {
	dst := make([]byte, 0, 64)
	dst = append(dst, "prefix:"...)
	dst = engineio.EncodeText(dst, codecText(engineio.Ping, "probe"))
	dst = engineio.EncodeText(dst, codecText(engineio.Message, "€"))
	if got, want := string(dst), "prefix:2probe4€"; got != want {
		t.Errorf("EncodeText appended %q, want %q", got, want)
	}
}

func TestCodecDecodeTextAliasesFrame(t *testing.T) {
	// Documented: the packet's Data aliases the frame (no copy).
	frame := []byte("4hello")
	p, err := engineio.DecodeText(frame)
	if err != nil {
		t.Fatal(err)
	}
	frame[1] = 'j'
	if string(p.Data) != "jello" {
		t.Errorf("Data = %q after changing the frame; want it to alias the frame", p.Data)
	}
}

func TestCodecBinaryFrame(t *testing.T) {
	// Protocol document / parser node test / test suite: the WebSocket binary
	// frame <01 02 03 04> is a message packet; no type byte on the wire.
	frame := []byte{0x01, 0x02, 0x03, 0x04}
	p := engineio.DecodeBinary(frame)
	if want := codecBinary(1, 2, 3, 4); !codecPacketEqual(p, want) {
		t.Errorf("DecodeBinary(% x) = %s, want %s", frame, codecFmtPacket(p), codecFmtPacket(want))
	}
	// Encoding a binary packet for WebSocket is its Data as is.
	if !bytes.Equal(p.Data, frame) {
		t.Errorf("binary frame round trip = % x, want % x", p.Data, frame)
	}

	// Binary frames may hold anything, including bytes that look like a
	// text packet, and may be empty.
	for _, frame := range [][]byte{{}, []byte("4hello"), {0x1e}, {0xff, 0x00}} {
		p := engineio.DecodeBinary(frame)
		if p.Type != engineio.Message || !p.Binary || !bytes.Equal(p.Data, frame) {
			t.Errorf("DecodeBinary(% x) = %s", frame, codecFmtPacket(p))
		}
	}
}

func TestCodecPacketTypeString(t *testing.T) {
	want := map[engineio.PacketType]string{
		engineio.Open:    "open",
		engineio.Close:   "close",
		engineio.Ping:    "ping",
		engineio.Pong:    "pong",
		engineio.Message: "message",
		engineio.Upgrade: "upgrade",
		engineio.Noop:    "noop",
		7:                "PacketType(7)",
		255:              "PacketType(255)",
	}
	for typ, name := range want {
		if got := typ.String(); got != name {
			t.Errorf("PacketType(%d).String() = %q, want %q", byte(typ), got, name)
		}
	}
	// The constants are the wire digits.
	for i, typ := range []engineio.PacketType{engineio.Open, engineio.Close, engineio.Ping, engineio.Pong, engineio.Message, engineio.Upgrade, engineio.Noop} {
		if int(typ) != i {
			t.Errorf("%v = %d, want %d", typ, typ, i)
		}
	}
	if engineio.Protocol != 4 {
		t.Errorf("Protocol = %d, want 4", engineio.Protocol)
	}
}

func TestCodecDecodeTextInvalid(t *testing.T) {
	invalid := []string{
		"",            // parser: decodePacket("") is an error
		"7", "8", "9", // past noop
		"a", "a123", // parser: decodePacket("a123")
		"abc",                  // test suite: "closes the session upon invalid packet format"
		"/", ":", " 4", "\x00", // around the digits
		"\xff", "\x80hello",
		"{", "{}", `["a123", "a456"]`, // parser: malformed payloads
		"-1", "+4hello", // not a digit
		"b", "bAQIDBA==", // base64 records exist only in polling payloads
		"\x1e4hello",
	}
	for _, wire := range invalid {
		p, err := engineio.DecodeText([]byte(wire))
		if err == nil {
			t.Errorf("DecodeText(%q) = %s, want error", wire, codecFmtPacket(p))
			continue
		}
		if !errors.Is(err, engineio.ErrInvalidPacket) {
			t.Errorf("DecodeText(%q) error %v does not wrap ErrInvalidPacket", wire, err)
		}
		if !reflect.DeepEqual(p, engineio.Packet{}) {
			t.Errorf("DecodeText(%q) returned %s with its error, want the zero Packet", wire, codecFmtPacket(p))
		}
	}
	// nil is the empty frame too.
	if _, err := engineio.DecodeText(nil); !errors.Is(err, engineio.ErrInvalidPacket) {
		t.Errorf("DecodeText(nil) = %v, want ErrInvalidPacket", err)
	}
}

func TestCodecDecodeTextEveryFirstByte(t *testing.T) {
	// Exactly the digits 0..6 start a valid text packet.
	for b := 0; b < 256; b++ {
		_, err := engineio.DecodeText([]byte{byte(b), 'x'})
		valid := b >= '0' && b <= '6'
		if valid && err != nil {
			t.Errorf("first byte %q: %v", byte(b), err)
		}
		if !valid && !errors.Is(err, engineio.ErrInvalidPacket) {
			t.Errorf("first byte %q: err = %v, want ErrInvalidPacket", byte(b), err)
		}
	}
}

func TestHandshakeParseDoc(t *testing.T) {
	want := engineio.Handshake{
		SID:          "lv_VI97HAXpY6yYWAAAC",
		Upgrades:     []string{"websocket"},
		PingInterval: 25000,
		PingTimeout:  20000,
		MaxPayload:   1000000,
	}
	for _, data := range []string{codecDocHandshake, codecDocHandshakePretty} {
		h, err := engineio.ParseHandshake([]byte(data))
		if err != nil {
			t.Fatalf("ParseHandshake(%q): %v", data, err)
		}
		if !reflect.DeepEqual(h, want) {
			t.Errorf("ParseHandshake(%q) = %+v, want %+v", data, h, want)
		}
	}

	// The whole open packet of the sample session, as the client reads it.
	p, err := engineio.DecodeText([]byte(codecSampleSessionOpen))
	if err != nil || p.Type != engineio.Open {
		t.Fatalf("DecodeText(open) = %s, %v", codecFmtPacket(p), err)
	}
	h, err := engineio.ParseHandshake(p.Data)
	if err != nil {
		t.Fatal(err)
	}
	want.PingTimeout = 5000
	if !reflect.DeepEqual(h, want) {
		t.Errorf("sample session handshake = %+v, want %+v", h, want)
	}
}

func TestHandshakeParseVariants(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want engineio.Handshake
	}{
		{
			// Test suite, WebSocket-only session: no upgrades.
			"websocket only",
			`{"sid":"s","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`,
			engineio.Handshake{SID: "s", Upgrades: []string{}, PingInterval: 300, PingTimeout: 200, MaxPayload: 1000000},
		},
		{
			// Unknown keys are ignored (forward compatibility); key order
			// does not matter.
			"extra keys",
			`{"pingTimeout":1,"extra":{"a":[1,2]},"pingInterval":2,"sid":"x","upgrades":["websocket"],"maxPayload":5}`,
			engineio.Handshake{SID: "x", Upgrades: []string{"websocket"}, PingInterval: 2, PingTimeout: 1, MaxPayload: 5},
		},
		{
			// An older server that does not send maxPayload: zero means
			// "not advertised".
			"no maxPayload",
			`{"sid":"x","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000}`,
			engineio.Handshake{SID: "x", Upgrades: []string{"websocket"}, PingInterval: 25000, PingTimeout: 20000},
		},
		{
			"no upgrades key",
			`{"sid":"x","pingInterval":25000,"pingTimeout":20000,"maxPayload":0}`,
			engineio.Handshake{SID: "x", PingInterval: 25000, PingTimeout: 20000},
		},
		{
			"unicode sid",
			`{"sid":"\u00e9t\u00e9","pingInterval":1,"pingTimeout":1}`,
			engineio.Handshake{SID: "été", PingInterval: 1, PingTimeout: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := engineio.ParseHandshake([]byte(tc.data))
			if err != nil {
				t.Fatalf("ParseHandshake(%q): %v", tc.data, err)
			}
			if !reflect.DeepEqual(h, tc.want) {
				t.Errorf("ParseHandshake(%q) = %+v, want %+v", tc.data, h, tc.want)
			}
		})
	}
}

func TestHandshakeParseErrors(t *testing.T) {
	const ok = `"sid":"x","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000`
	for _, tc := range []struct {
		name string
		data string
	}{
		// Missing session id.
		{"missing sid", `{"upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`},
		{"empty sid", `{"sid":"","pingInterval":25000,"pingTimeout":20000}`},
		{"null sid", `{"sid":null,"pingInterval":25000,"pingTimeout":20000}`},
		{"null", `null`},
		{"empty object", `{}`},
		// Intervals must be positive.
		{"zero pingInterval", `{"sid":"x","pingInterval":0,"pingTimeout":20000}`},
		{"zero pingTimeout", `{"sid":"x","pingInterval":25000,"pingTimeout":0}`},
		{"negative pingInterval", `{"sid":"x","pingInterval":-1,"pingTimeout":20000}`},
		{"negative pingTimeout", `{"sid":"x","pingInterval":25000,"pingTimeout":-20000}`},
		{"missing pingInterval", `{"sid":"x","pingTimeout":20000}`},
		{"missing pingTimeout", `{"sid":"x","pingInterval":25000}`},
		{"negative maxPayload", `{` + ok[:len(ok)-len("1000000")] + `-1}`},
		// Intervals that no timer can hold: pingInterval + pingTimeout
		// must fit a time.Duration.
		{"huge pingInterval", fmt.Sprintf(`{"sid":"x","pingInterval":%d,"pingTimeout":1}`, int64(math.MaxInt64)/int64(time.Millisecond))},
		{"huge sum", fmt.Sprintf(`{"sid":"x","pingInterval":%d,"pingTimeout":%d}`, int64(math.MaxInt64)/int64(time.Millisecond)/2+1, int64(math.MaxInt64)/int64(time.Millisecond)/2+1)},
		{"max int64", fmt.Sprintf(`{"sid":"x","pingInterval":%d,"pingTimeout":%d}`, int64(math.MaxInt64), int64(math.MaxInt64))},
		// Bad JSON.
		{"empty", ``},
		{"truncated", `{"sid":"x","pingInterval":25000`},
		{"not json", `not json`},
		{"open packet with type byte", `0{` + ok + `}`},
		{"trailing garbage", `{` + ok + `}x`},
		{"array", `[]`},
		{"string", `"sid"`},
		{"sid number", `{"sid":1,"pingInterval":25000,"pingTimeout":20000}`},
		{"interval string", `{"sid":"x","pingInterval":"25000","pingTimeout":20000}`},
		{"interval float", `{"sid":"x","pingInterval":25000.5,"pingTimeout":20000}`},
		{"interval overflow", `{"sid":"x","pingInterval":99999999999999999999,"pingTimeout":20000}`},
		{"upgrades string", `{"sid":"x","upgrades":"websocket","pingInterval":25000,"pingTimeout":20000}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := engineio.ParseHandshake([]byte(tc.data))
			if err == nil {
				t.Fatalf("ParseHandshake(%q) = %+v, want error", tc.data, h)
			}
			if !errors.Is(err, engineio.ErrInvalidPacket) {
				t.Errorf("ParseHandshake(%q) error %v does not wrap ErrInvalidPacket", tc.data, err)
			}
			if !reflect.DeepEqual(h, engineio.Handshake{}) {
				t.Errorf("ParseHandshake(%q) returned %+v with its error, want the zero Handshake", tc.data, h)
			}
		})
	}
}

func TestHandshakeLargestIntervals(t *testing.T) {
	// The largest accepted values still make a positive time.Duration.
	maxMillis := int64(math.MaxInt64) / int64(time.Millisecond)
	data := fmt.Sprintf(`{"sid":"x","pingInterval":%d,"pingTimeout":1}`, maxMillis-1)
	h, err := engineio.ParseHandshake([]byte(data))
	if err != nil {
		t.Fatalf("ParseHandshake(%q): %v", data, err)
	}
	if d := time.Duration(h.PingInterval+h.PingTimeout) * time.Millisecond; d <= 0 {
		t.Errorf("pingInterval+pingTimeout = %v, want positive", d)
	}
}

func TestHandshakeJSONRoundTrip(t *testing.T) {
	// The field names are the wire keys.
	h := engineio.Handshake{SID: "lv_VI97HAXpY6yYWAAAC", Upgrades: []string{"websocket"}, PingInterval: 25000, PingTimeout: 20000, MaxPayload: 1000000}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != codecDocHandshake {
		t.Errorf("json.Marshal(Handshake) = %s, want %s", b, codecDocHandshake)
	}
}
