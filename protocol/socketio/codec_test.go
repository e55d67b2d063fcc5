package socketio

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// ph is a placeholder for attachment n, as the reference encoder writes it.
func ph(n int) string { return fmt.Sprintf(`{"_placeholder":true,"num":%d}`, n) }

// wireCase is one packet of the protocol documents: its text part, the
// binary messages that follow it, and the packet it decodes to.
type wireCase struct {
	name   string
	text   string
	binary [][]byte
	want   Packet
}

// goldenCases are re-typed from socketio/socket.io docs/socket.io-protocol/
// v5-current.md (sections "Packet encoding" and "Sample session"), its test
// suite v5-test-suite/test-suite.js (WebSocket frames without the Engine.IO
// "4"), and the encoder tests of packages/socket.io-parser/test/parser.js.
// Each text is the canonical encoding of its packet.
var goldenCases = []wireCase{
	// v5-current.md, "Packet encoding".
	{name: "doc/connect main", text: `0`,
		want: Packet{Type: PacketConnect, Namespace: "/"}},
	{name: "doc/connect admin reply", text: `0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}`,
		want: Packet{Type: PacketConnect, Namespace: "/admin", Data: []byte(`{"sid":"oSO0OpakMV_3jnilAAAA"}`)}},
	{name: "doc/connect error", text: `4{"message":"Not authorized"}`,
		want: Packet{Type: PacketConnectError, Namespace: "/", Data: []byte(`{"message":"Not authorized"}`)}},
	{name: "doc/event main", text: `2["foo"]`,
		want: Packet{Type: PacketEvent, Namespace: "/", Data: []byte(`["foo"]`)}},
	{name: "doc/event admin", text: `2/admin,["bar"]`,
		want: Packet{Type: PacketEvent, Namespace: "/admin", Data: []byte(`["bar"]`)}},
	{name: "doc/binary event", text: `51-["baz",` + ph(0) + `]`,
		binary: [][]byte{{1, 2, 3, 4}},
		want: Packet{Type: PacketBinaryEvent, Namespace: "/", Data: []byte(`["baz",` + ph(0) + `]`),
			Attachments: [][]byte{{1, 2, 3, 4}}}},
	{name: "doc/binary event two attachments", text: `52-/admin,["baz",` + ph(0) + `,` + ph(1) + `]`,
		binary: [][]byte{{1, 2}, {3, 4}},
		want: Packet{Type: PacketBinaryEvent, Namespace: "/admin", Data: []byte(`["baz",` + ph(0) + `,` + ph(1) + `]`),
			Attachments: [][]byte{{1, 2}, {3, 4}}}},
	{name: "doc/event with ack", text: `212["foo"]`,
		want: Packet{Type: PacketEvent, Namespace: "/", ID: 12, HasID: true, Data: []byte(`["foo"]`)}},
	{name: "doc/ack admin", text: `3/admin,13["bar"]`,
		want: Packet{Type: PacketAck, Namespace: "/admin", ID: 13, HasID: true, Data: []byte(`["bar"]`)}},
	{name: "doc/binary ack", text: `61-15["bar",` + ph(0) + `]`,
		binary: [][]byte{{1, 2, 3, 4}},
		want: Packet{Type: PacketBinaryAck, Namespace: "/", ID: 15, HasID: true, Data: []byte(`["bar",` + ph(0) + `]`),
			Attachments: [][]byte{{1, 2, 3, 4}}}},
	{name: "doc/disconnect main", text: `1`,
		want: Packet{Type: PacketDisconnect, Namespace: "/"}},
	{name: "doc/disconnect admin", text: `1/admin,`,
		want: Packet{Type: PacketDisconnect, Namespace: "/admin"}},

	// v5-current.md, "Sample session".
	{name: "session/connect reply", text: `0{"sid":"wZX3oN0bSVIhsaknAAAI"}`,
		want: Packet{Type: PacketConnect, Namespace: "/", Data: []byte(`{"sid":"wZX3oN0bSVIhsaknAAAI"}`)}},
	{name: "session/server emit", text: `2["hey","Jude"]`,
		want: Packet{Type: PacketEvent, Namespace: "/", Data: []byte(`["hey","Jude"]`)}},
	{name: "session/client emit", text: `2["hello"]`,
		want: Packet{Type: PacketEvent, Namespace: "/", Data: []byte(`["hello"]`)}},
	{name: "session/connect admin", text: `0/admin,`,
		want: Packet{Type: PacketConnect, Namespace: "/admin"}},
	{name: "session/connect admin reply", text: `0/admin,{"sid":"-G5j-67EZFp-q59rADQM"}`,
		want: Packet{Type: PacketConnect, Namespace: "/admin", Data: []byte(`{"sid":"-G5j-67EZFp-q59rADQM"}`)}},
	{name: "session/event with ack", text: `2/admin,1["tellme"]`,
		want: Packet{Type: PacketEvent, Namespace: "/admin", ID: 1, HasID: true, Data: []byte(`["tellme"]`)}},
	{name: "session/binary ack", text: `61-/admin,1[` + ph(0) + `]`,
		binary: [][]byte{{0xde, 0xad, 0xbe, 0xef}},
		want: Packet{Type: PacketBinaryAck, Namespace: "/admin", ID: 1, HasID: true, Data: []byte(`[` + ph(0) + `]`),
			Attachments: [][]byte{{0xde, 0xad, 0xbe, 0xef}}}},

	// v5-test-suite/test-suite.js.
	{name: "suite/connect with payload", text: `0{"token":"123"}`,
		want: Packet{Type: PacketConnect, Namespace: "/", Data: []byte(`{"token":"123"}`)}},
	{name: "suite/connect custom", text: `0/custom,`,
		want: Packet{Type: PacketConnect, Namespace: "/custom"}},
	{name: "suite/connect custom with payload", text: `0/custom,{"token":"abc"}`,
		want: Packet{Type: PacketConnect, Namespace: "/custom", Data: []byte(`{"token":"abc"}`)}},
	{name: "suite/invalid namespace", text: `4/random,{"message":"Invalid namespace"}`,
		want: Packet{Type: PacketConnectError, Namespace: "/random", Data: []byte(`{"message":"Invalid namespace"}`)}},
	{name: "suite/auth event", text: `2["auth",{}]`,
		want: Packet{Type: PacketEvent, Namespace: "/", Data: []byte(`["auth",{}]`)}},
	{name: "suite/auth event custom", text: `2/custom,["auth",{"token":"abc"}]`,
		want: Packet{Type: PacketEvent, Namespace: "/custom", Data: []byte(`["auth",{"token":"abc"}]`)}},
	{name: "suite/message", text: `2["message",1,"2",{"3":[true]}]`,
		want: Packet{Type: PacketEvent, Namespace: "/", Data: []byte(`["message",1,"2",{"3":[true]}]`)}},
	{name: "suite/message with ack", text: `2456["message-with-ack",1,"2",{"3":[false]}]`,
		want: Packet{Type: PacketEvent, Namespace: "/", ID: 456, HasID: true, Data: []byte(`["message-with-ack",1,"2",{"3":[false]}]`)}},
	{name: "suite/ack", text: `3456[1,"2",{"3":[false]}]`,
		want: Packet{Type: PacketAck, Namespace: "/", ID: 456, HasID: true, Data: []byte(`[1,"2",{"3":[false]}]`)}},
	{name: "suite/binary message", text: `52-["message",` + ph(0) + `,` + ph(1) + `]`,
		binary: [][]byte{{1, 2, 3}, {4, 5, 6}},
		want: Packet{Type: PacketBinaryEvent, Namespace: "/", Data: []byte(`["message",` + ph(0) + `,` + ph(1) + `]`),
			Attachments: [][]byte{{1, 2, 3}, {4, 5, 6}}}},
	{name: "suite/binary message with ack", text: `52-789["message-with-ack",` + ph(0) + `,` + ph(1) + `]`,
		binary: [][]byte{{1, 2, 3}, {4, 5, 6}},
		want: Packet{Type: PacketBinaryEvent, Namespace: "/", ID: 789, HasID: true,
			Data:        []byte(`["message-with-ack",` + ph(0) + `,` + ph(1) + `]`),
			Attachments: [][]byte{{1, 2, 3}, {4, 5, 6}}}},
	{name: "suite/binary ack", text: `62-789[` + ph(0) + `,` + ph(1) + `]`,
		binary: [][]byte{{1, 2, 3}, {4, 5, 6}},
		want: Packet{Type: PacketBinaryAck, Namespace: "/", ID: 789, HasID: true,
			Data:        []byte(`[` + ph(0) + `,` + ph(1) + `]`),
			Attachments: [][]byte{{1, 2, 3}, {4, 5, 6}}}},

	// socket.io-parser test/parser.js, encoder cases.
	{name: "parser/connect", text: `0/woot,{"token":"123"}`,
		want: Packet{Type: PacketConnect, Namespace: "/woot", Data: []byte(`{"token":"123"}`)}},
	{name: "parser/disconnect", text: `1/woot,`,
		want: Packet{Type: PacketDisconnect, Namespace: "/woot"}},
	{name: "parser/event", text: `2["a",1,{}]`,
		want: Packet{Type: PacketEvent, Namespace: "/", Data: []byte(`["a",1,{}]`)}},
	{name: "parser/event numeric name", text: `2[1,"a",{}]`,
		want: Packet{Type: PacketEvent, Namespace: "/", Data: []byte(`[1,"a",{}]`)}},
	{name: "parser/event with ack", text: `2/test,1["a",1,{}]`,
		want: Packet{Type: PacketEvent, Namespace: "/test", ID: 1, HasID: true, Data: []byte(`["a",1,{}]`)}},
	{name: "parser/ack", text: `3123["a",1,{}]`,
		want: Packet{Type: PacketAck, Namespace: "/", ID: 123, HasID: true, Data: []byte(`["a",1,{}]`)}},
	{name: "parser/connect error string", text: `4"Unauthorized"`,
		want: Packet{Type: PacketConnectError, Namespace: "/", Data: []byte(`"Unauthorized"`)}},
	{name: "parser/connect error object", text: `4{"message":"Unauthorized"}`,
		want: Packet{Type: PacketConnectError, Namespace: "/", Data: []byte(`{"message":"Unauthorized"}`)}},

	// Boundaries.
	{name: "empty ack", text: `3/admin,7[]`,
		want: Packet{Type: PacketAck, Namespace: "/admin", ID: 7, HasID: true, Data: []byte(`[]`)}},
	{name: "largest ack id", text: `218446744073709551615["a"]`,
		want: Packet{Type: PacketEvent, Namespace: "/", ID: 18446744073709551615, HasID: true, Data: []byte(`["a"]`)}},
	{name: "ten attachments", text: `510-["a"` + strings.Repeat(`,`+ph(0), 10) + `]`,
		binary: [][]byte{{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}},
		want: Packet{Type: PacketBinaryEvent, Namespace: "/", Data: []byte(`["a"` + strings.Repeat(`,`+ph(0), 10) + `]`),
			Attachments: [][]byte{{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}}}},
	{name: "empty attachment", text: `51-["a",` + ph(0) + `]`,
		binary: [][]byte{{}},
		want: Packet{Type: PacketBinaryEvent, Namespace: "/", Data: []byte(`["a",` + ph(0) + `]`),
			Attachments: [][]byte{{}}}},
}

// decodeAll feeds text and then each binary message to d, checking that
// only the last message completes the packet.
func decodeAll(t testing.TB, d *Decoder, text string, binary [][]byte) (*Packet, error) {
	t.Helper()
	p, err := d.Decode([]byte(text), false)
	for i, b := range binary {
		if err != nil {
			return nil, err
		}
		if p != nil {
			t.Fatalf("packet complete after the text and %d of %d attachments", i, len(binary))
		}
		p, err = d.Decode(b, true)
	}
	if err == nil && p == nil {
		t.Fatalf("packet incomplete after %d attachments", len(binary))
	}
	return p, err
}

// packetDiff describes how got differs from want, or returns "".
func packetDiff(got, want *Packet) string {
	var diffs []string
	if got.Type != want.Type {
		diffs = append(diffs, fmt.Sprintf("Type %v, want %v", got.Type, want.Type))
	}
	if got.Namespace != want.Namespace {
		diffs = append(diffs, fmt.Sprintf("Namespace %q, want %q", got.Namespace, want.Namespace))
	}
	if got.ID != want.ID || got.HasID != want.HasID {
		diffs = append(diffs, fmt.Sprintf("ID %d/%v, want %d/%v", got.ID, got.HasID, want.ID, want.HasID))
	}
	if !bytes.Equal(got.Data, want.Data) || (got.Data == nil) != (want.Data == nil) {
		diffs = append(diffs, fmt.Sprintf("Data %q, want %q", got.Data, want.Data))
	}
	if len(got.Attachments) != len(want.Attachments) {
		diffs = append(diffs, fmt.Sprintf("%d attachments, want %d", len(got.Attachments), len(want.Attachments)))
	} else {
		for i := range got.Attachments {
			if !bytes.Equal(got.Attachments[i], want.Attachments[i]) {
				diffs = append(diffs, fmt.Sprintf("attachment %d = %x, want %x", i, got.Attachments[i], want.Attachments[i]))
			}
		}
	}
	return strings.Join(diffs, "; ")
}

func TestGoldenDecode(t *testing.T) {
	var d Decoder // one decoder for the whole table, as on a connection
	for _, tc := range goldenCases {
		p, err := decodeAll(t, &d, tc.text, tc.binary)
		if err != nil {
			t.Errorf("%s: Decode(%q): %v", tc.name, tc.text, err)
			continue
		}
		if diff := packetDiff(p, &tc.want); diff != "" {
			t.Errorf("%s: Decode(%q): %s", tc.name, tc.text, diff)
		}
	}
}

func TestGoldenEncode(t *testing.T) {
	for _, tc := range goldenCases {
		if got := AppendPacket(nil, &tc.want); string(got) != tc.text {
			t.Errorf("%s: AppendPacket = %q, want %q", tc.name, got, tc.text)
		}
		if err := tc.want.Validate(0); err != nil {
			t.Errorf("%s: Validate: %v", tc.name, err)
		}
	}
}

func TestGoldenRoundTrip(t *testing.T) {
	var d Decoder
	buf := []byte("prefix")
	for _, tc := range goldenCases {
		buf = AppendPacket(buf[:len("prefix")], &tc.want)
		if !bytes.HasPrefix(buf, []byte("prefix")) {
			t.Fatalf("%s: AppendPacket overwrote dst", tc.name)
		}
		p, err := decodeAll(t, &d, string(buf[len("prefix"):]), tc.want.Attachments)
		if err != nil {
			t.Errorf("%s: decoding the encoding: %v", tc.name, err)
			continue
		}
		if diff := packetDiff(p, &tc.want); diff != "" {
			t.Errorf("%s: round trip: %s", tc.name, diff)
		}
	}
}

func TestEncodeEmptyNamespace(t *testing.T) {
	p := Packet{Type: PacketEvent, Data: []byte(`["x"]`)}
	if got := string(AppendPacket(nil, &p)); got != `2["x"]` {
		t.Errorf("AppendPacket = %q, want %q", got, `2["x"]`)
	}
}

// TestDecodeLenient covers messages that decode although they are not the
// canonical encoding of their packet.
func TestDecodeLenient(t *testing.T) {
	cases := []struct {
		name, text, canonical string
		want                  Packet
	}{
		// The test suite sends these; the reference reads the namespace to
		// the end of the message when it has no comma.
		{name: "suite/connect no comma", text: `0/random`, canonical: `0/random,`,
			want: Packet{Type: PacketConnect, Namespace: "/random"}},
		{name: "suite/disconnect no comma", text: `1/custom`, canonical: `1/custom,`,
			want: Packet{Type: PacketDisconnect, Namespace: "/custom"}},
		{name: "explicit main namespace", text: `2/,["a"]`, canonical: `2["a"]`,
			want: Packet{Type: PacketEvent, Namespace: "/", Data: []byte(`["a"]`)}},
		{name: "leading zeros in id", text: `2007["a"]`, canonical: `27["a"]`,
			want: Packet{Type: PacketEvent, Namespace: "/", ID: 7, HasID: true, Data: []byte(`["a"]`)}},
		{name: "whitespace around payload", text: "2 [\"a\"]\n", canonical: `2["a"]`,
			want: Packet{Type: PacketEvent, Namespace: "/", Data: []byte(`["a"]`)}},
		{name: "namespace without comma swallows the rest", text: `0/a{"x":1}`, canonical: `0/a{"x":1},`,
			want: Packet{Type: PacketConnect, Namespace: `/a{"x":1}`}},
		{name: "escaped event name", text: `2["\u0061"]`, canonical: `2["\u0061"]`,
			want: Packet{Type: PacketEvent, Namespace: "/", Data: []byte(`["\u0061"]`)}},
		{name: "negative numeric event name", text: `2[-1.5]`, canonical: `2[-1.5]`,
			want: Packet{Type: PacketEvent, Namespace: "/", Data: []byte(`[-1.5]`)}},
		{name: "id on connect", text: `05{}`, canonical: `05{}`,
			want: Packet{Type: PacketConnect, Namespace: "/", ID: 5, HasID: true, Data: []byte(`{}`)}},
	}
	for _, tc := range cases {
		var d Decoder
		p, err := d.Decode([]byte(tc.text), false)
		if err != nil {
			t.Errorf("%s: Decode(%q): %v", tc.name, tc.text, err)
			continue
		}
		if diff := packetDiff(p, &tc.want); diff != "" {
			t.Errorf("%s: Decode(%q): %s", tc.name, tc.text, diff)
		}
		if got := string(AppendPacket(nil, p)); got != tc.canonical {
			t.Errorf("%s: re-encoded as %q, want %q", tc.name, got, tc.canonical)
		}
	}
}

func TestDecodeBinaryPlaceholders(t *testing.T) {
	cases := []struct {
		name, text string
		binary     [][]byte
		ok         bool
	}{
		{"num 1.0 is 1", `52-["a",{"_placeholder":true,"num":1.0}]`, [][]byte{{1}, {2}}, true},
		{"num 1e0 is 1", `52-["a",{"_placeholder":true,"num":1e0}]`, [][]byte{{1}, {2}}, true},
		{"num -0 is 0", `51-["a",{"_placeholder":true,"num":-0}]`, [][]byte{{1}}, true},
		{"placeholder false is an object", `51-["a",{"_placeholder":false,"num":9}]`, [][]byte{{1}}, true},
		{"placeholder \"true\" is an object", `51-["a",{"_placeholder":"true","num":9}]`, [][]byte{{1}}, true},
		{"nested inside a placeholder is dropped", `51-["a",{"_placeholder":true,"num":0,"x":{"_placeholder":true,"num":9}}]`, [][]byte{{1}}, true},
		{"last duplicate key wins", `51-["a",{"_placeholder":true,"num":9,"num":0}]`, [][]byte{{1}}, true},
		{"escaped key", `51-["a",{"\u005fplaceholder":true,"num":0}]`, [][]byte{{1}}, true},
		{"unused attachment", `52-["a",` + ph(1) + `]`, [][]byte{{1}, {2}}, true},
		{"top-level placeholder in ack", `61-[` + ph(0) + `]`, [][]byte{{1}}, true},

		{"num out of range", `51-["a",` + ph(1) + `]`, [][]byte{{1}}, false},
		{"num negative", `51-["a",{"_placeholder":true,"num":-1}]`, [][]byte{{1}}, false},
		{"num string", `51-["a",{"_placeholder":true,"num":"0"}]`, [][]byte{{1}}, false},
		{"num fraction", `52-["a",{"_placeholder":true,"num":0.5}]`, [][]byte{{1}, {2}}, false},
		{"num missing", `51-["a",{"_placeholder":true}]`, [][]byte{{1}}, false},
		{"num null", `51-["a",{"_placeholder":true,"num":null}]`, [][]byte{{1}}, false},
		{"num huge", `51-["a",{"_placeholder":true,"num":1e400}]`, [][]byte{{1}}, false},
		{"num deep", `51-["a",{"b":[[{"c":` + ph(3) + `}]]}]`, [][]byte{{1}}, false},
		{"last duplicate key wins (bad)", `51-["a",{"_placeholder":true,"num":0,"num":9}]`, [][]byte{{1}}, false},
		{"escaped key (bad)", `51-["a",{"\u005fplaceholder":true,"num":4}]`, [][]byte{{1}}, false},
	}
	for _, tc := range cases {
		var d Decoder
		p, err := decodeAll(t, &d, tc.text, tc.binary)
		if tc.ok {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			if _, err := DecodeValue(p.Data, p.Attachments); err != nil {
				t.Errorf("%s: decoder accepted it but DecodeValue: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("%s: err = %v, want ErrInvalidPacket", tc.name, err)
		}
		if _, err := DecodeValue([]byte(tc.text[strings.IndexByte(tc.text, '['):]), tc.binary); err == nil {
			t.Errorf("%s: decoder refused it but DecodeValue accepted it", tc.name)
		}
		// The decoder is usable again.
		if p, err := d.Decode([]byte(`2["ok"]`), false); err != nil || p == nil {
			t.Errorf("%s: decoder not reset: %v", tc.name, err)
		}
	}
}

// invalidText are text messages every decoder must refuse. Those marked
// "reference" are refused by socket.io-parser too (its test/parser.js or the
// protocol test suite); the others are refused only by this stricter
// decoder.
var invalidText = []struct{ name, text string }{
	{"suite: unknown packet type", `abc`},
	{"suite: invalid payload format", `2{}`},
	{"suite: invalid ack id", `2abc["message-with-ack",1,"2",{"3":[false]}]`},
	{"reference: unknown type 9", `9`},
	{"reference: unknown type 999", `999`},
	{"reference: unterminated JSON", `442["some","data"`},
	{"reference: connect string", `0/admin,"invalid"`},
	{"reference: connect string main", `0"str"`},
	{"reference: connect array", `0[]`},
	{"reference: disconnect object", `1/admin,{}`},
	{"reference: disconnect string", `1"x"`},
	{"reference: event unterminated string", `2/admin,"invalid`},
	{"reference: event object", `2/admin,{}`},
	{"reference: event object name", `2[{"toString":"foo"}]`},
	{"reference: event bool name", `2[true,"foo"]`},
	{"reference: event null name", `2[null,"bar"]`},
	{"reference: event object first", `2[{}]`},
	{"reference: event reserved connect", `2["connect"]`},
	{"reference: event reserved disconnect", `2["disconnect","123"]`},
	{"reference: event reserved connect_error", `2["connect_error"]`},
	{"reference: event reserved disconnecting", `2["disconnecting"]`},
	{"reference: event reserved newListener", `2["newListener"]`},
	{"reference: event reserved removeListener", `2["removeListener"]`},
	{"reference: event reserved, escaped", `2["\u0063onnect"]`},
	{"reference: event empty array", `2[]`},
	{"reference: event string", `2"x"`},
	{"reference: ack object", `3{}`},
	{"reference: ack string", `3"x"`},
	{"reference: connect error array", `4[]`},
	{"reference: connect error number", `41`},
	{"reference: binary without count", `5`},
	{"reference: binary without dash", `51`},
	{"reference: binary zero attachments", `50-`},
	{"reference: binary letter count", `5a-`},
	{"reference: binary fractional count", `51.23-`},
	{"reference: binary empty count", `5-["a",` + `{"_placeholder":true,"num":0}]`},
	{"reference: binary junk count", `5x-["a",{"_placeholder":true,"num":0}]`},
	{"reference: binary event empty array", `51-[]`},
	{"reference: binary ack object", `61-{}`},
	{"reference: namespace not starting with /", `2admin,["x"]`},
	{"reference: trailing garbage", `2["a"]x`},
	{"reference: two values", `2["a"]["b"]`},
	{"strict: empty message", ``},
	{"strict: whitespace payload", `0 `},
	{"strict: event without payload", `2`},
	{"strict: event namespace without comma", `2/admin`},
	{"strict: ack without payload", `3/admin,13`},
	{"strict: connect error without payload", `4`},
	{"strict: binary event without payload", `51-`},
	{"strict: ack id overflow", `299999999999999999999999["a"]`},
	{"strict: ack id just over uint64", `218446744073709551616["a"]`},
	{"strict: huge attachment count", `5999999999999999999999999-["a"]`},
	{"strict: type byte beyond 6", `7`},
	{"strict: non-digit type", "\x00"},
}

func TestDecodeInvalidText(t *testing.T) {
	for _, tc := range invalidText {
		var d Decoder
		p, err := d.Decode([]byte(tc.text), false)
		if err == nil {
			t.Errorf("%s: Decode(%q) = %+v, want an error", tc.name, tc.text, p)
			continue
		}
		if !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("%s: Decode(%q) error %v does not wrap ErrInvalidPacket", tc.name, tc.text, err)
		}
		if p != nil {
			t.Errorf("%s: Decode(%q) returned a packet with its error", tc.name, tc.text)
		}
	}
}

func TestDecodeTooManyAttachments(t *testing.T) {
	var d Decoder
	_, err := d.Decode([]byte(`511-["a",`+ph(0)+`]`), false)
	if !errors.Is(err, ErrInvalidPacket) || !errors.Is(err, ErrTooManyAttachments) {
		t.Fatalf("11 attachments: err = %v, want ErrInvalidPacket and ErrTooManyAttachments", err)
	}
	if got, want := err.Error(), "socketio: invalid packet: too many attachments (limit 10)"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}

	// The reference test: maxAttachments 2, three announced.
	d = Decoder{MaxAttachments: 2}
	_, err = d.Decode([]byte(`53-["hello",`+ph(0)+`,`+ph(1)+`,`+ph(2)+`]`), false)
	if !errors.Is(err, ErrTooManyAttachments) {
		t.Fatalf("MaxAttachments 2: err = %v, want ErrTooManyAttachments", err)
	}
	if p, err := decodeAll(t, &d, `52-["a",`+ph(0)+`,`+ph(1)+`]`, [][]byte{{1}, {2}}); err != nil || p == nil {
		t.Fatalf("MaxAttachments 2 with 2: %v", err)
	}

	// A higher limit admits more.
	d = Decoder{MaxAttachments: 12}
	bins := make([][]byte, 12)
	for i := range bins {
		bins[i] = []byte{byte(i)}
	}
	if _, err := decodeAll(t, &d, `512-["a",`+ph(11)+`]`, bins); err != nil {
		t.Fatalf("MaxAttachments 12 with 12: %v", err)
	}
}

func TestDecodeSequenceErrors(t *testing.T) {
	t.Run("binary first", func(t *testing.T) {
		var d Decoder
		_, err := d.Decode([]byte{1, 2, 3}, true)
		if !errors.Is(err, ErrInvalidPacket) || !strings.Contains(err.Error(), "not reconstructing") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("binary after a complete binary packet", func(t *testing.T) {
		var d Decoder
		if _, err := decodeAll(t, &d, `51-["a",`+ph(0)+`]`, [][]byte{{1}}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Decode([]byte{2}, true); !errors.Is(err, ErrInvalidPacket) {
			t.Fatalf("extra attachment: err = %v", err)
		}
	})
	t.Run("text during reconstruction", func(t *testing.T) {
		var d Decoder
		if p, err := d.Decode([]byte(`52-["a",`+ph(0)+`,`+ph(1)+`]`), false); p != nil || err != nil {
			t.Fatalf("text part: %v, %v", p, err)
		}
		if p, err := d.Decode([]byte{1}, true); p != nil || err != nil {
			t.Fatalf("first attachment: %v, %v", p, err)
		}
		_, err := d.Decode([]byte(`2["b"]`), false)
		if !errors.Is(err, ErrInvalidPacket) || !strings.Contains(err.Error(), "got plaintext data when reconstructing a packet") {
			t.Fatalf("err = %v", err)
		}
		// Reset by the error: the next text message starts a new packet.
		p, err := d.Decode([]byte(`2["b"]`), false)
		if err != nil || p == nil || string(p.Data) != `["b"]` {
			t.Fatalf("after the error: %v, %v", p, err)
		}
	})
	t.Run("Reset", func(t *testing.T) {
		var d Decoder
		if _, err := d.Decode([]byte(`51-["hello"]`), false); err != nil {
			t.Fatal(err)
		}
		d.Reset()
		p, err := d.Decode([]byte(`2["hello"]`), false)
		if err != nil || p == nil || string(p.Data) != `["hello"]` {
			t.Fatalf("after Reset: %v, %v", p, err)
		}
	})
}

func TestDecodeCopiesInput(t *testing.T) {
	var d Decoder
	text := []byte(`51-/admin,["baz",` + ph(0) + `]`)
	bin := []byte{1, 2, 3, 4}
	if _, err := d.Decode(text, false); err != nil {
		t.Fatal(err)
	}
	p, err := d.Decode(bin, true)
	if err != nil || p == nil {
		t.Fatal(err)
	}
	for i := range text {
		text[i] = 'x'
	}
	for i := range bin {
		bin[i] = 0
	}
	want := Packet{Type: PacketBinaryEvent, Namespace: "/admin", Data: []byte(`["baz",` + ph(0) + `]`), Attachments: [][]byte{{1, 2, 3, 4}}}
	if diff := packetDiff(p, &want); diff != "" {
		t.Fatalf("after overwriting the input: %s", diff)
	}
}

func TestValidate(t *testing.T) {
	bins := func(n int) [][]byte {
		b := make([][]byte, n)
		for i := range b {
			b[i] = []byte{byte(i)}
		}
		return b
	}
	cases := []struct {
		name    string
		p       Packet
		max     int
		tooMany bool // else ErrInvalidPacket
	}{
		{name: "unknown type", p: Packet{Type: 7}},
		{name: "namespace without slash", p: Packet{Type: PacketConnect, Namespace: "admin"}},
		{name: "namespace with comma", p: Packet{Type: PacketConnect, Namespace: "/a,b"}},
		{name: "event without data", p: Packet{Type: PacketEvent}},
		{name: "event with bad JSON", p: Packet{Type: PacketEvent, Data: []byte(`["a"`)}},
		{name: "event reserved name", p: Packet{Type: PacketEvent, Data: []byte(`["disconnect"]`)}},
		{name: "disconnect with data", p: Packet{Type: PacketDisconnect, Data: []byte(`{}`)}},
		{name: "event with attachments", p: Packet{Type: PacketEvent, Data: []byte(`["a"]`), Attachments: bins(1)}},
		{name: "binary event without attachments", p: Packet{Type: PacketBinaryEvent, Data: []byte(`["a"]`)}},
		{name: "placeholder out of range", p: Packet{Type: PacketBinaryEvent, Data: []byte(`["a",` + ph(1) + `]`), Attachments: bins(1)}},
		{name: "eleven attachments", p: Packet{Type: PacketBinaryEvent, Data: []byte(`["a"]`), Attachments: bins(11)}, tooMany: true},
		{name: "three over a limit of two", p: Packet{Type: PacketBinaryAck, Data: []byte(`[]`), Attachments: bins(3)}, max: 2, tooMany: true},
	}
	for _, tc := range cases {
		err := tc.p.Validate(tc.max)
		switch {
		case err == nil:
			t.Errorf("%s: Validate = nil", tc.name)
		case tc.tooMany && (!errors.Is(err, ErrTooManyAttachments) || errors.Is(err, ErrInvalidPacket)):
			t.Errorf("%s: Validate = %v, want ErrTooManyAttachments alone", tc.name, err)
		case !tc.tooMany && !errors.Is(err, ErrInvalidPacket):
			t.Errorf("%s: Validate = %v, want ErrInvalidPacket", tc.name, err)
		}
	}
	ok := Packet{Type: PacketBinaryAck, Namespace: "/x", ID: 1, HasID: true, Data: []byte(`[` + ph(11) + `]`), Attachments: bins(12)}
	if err := ok.Validate(12); err != nil {
		t.Errorf("12 attachments with limit 12: %v", err)
	}
}

func TestPacketTypeString(t *testing.T) {
	if got := PacketBinaryAck.String(); got != "BINARY_ACK" {
		t.Errorf("BinaryAck.String() = %q", got)
	}
	if got := PacketType(9).String(); got != "PacketType(9)" {
		t.Errorf("PacketType(9).String() = %q", got)
	}
}
