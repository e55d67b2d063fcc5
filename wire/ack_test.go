package wire_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/wire"
)

func args(raw ...string) socketio.Args {
	list := make([]json.RawMessage, len(raw))
	for i, r := range raw {
		list[i] = json.RawMessage(r)
	}
	return socketio.NewArgs(list, nil)
}

// TestTelemetryAck: the acks a server may send, and the unreadable ones,
// which are transient bad_ack errors (the batch is kept and sent again).
func TestTelemetryAck(t *testing.T) {
	ok := []struct {
		raw  []string
		want wire.TelemetryAck
	}{
		{[]string{`{"ok":true}`}, wire.TelemetryAck{OK: true}},
		{[]string{`{"ok":true,"duplicate":true}`, `"extra"`}, wire.TelemetryAck{OK: true, Duplicate: true}},
		{[]string{`{"ok":true,"unknownField":1}`}, wire.TelemetryAck{OK: true}},
	}
	for _, tt := range ok {
		got, err := wire.Telemetry.DecodeAck(args(tt.raw...))
		if err != nil || got.OK != tt.want.OK || got.Duplicate != tt.want.Duplicate || got.Error != nil {
			t.Errorf("ack %v = %+v, %v; want %+v", tt.raw, got, err, tt.want)
		}
	}
	refusals := []struct {
		raw  string
		want wire.AckError
	}{
		{`{"ok":false,"error":{"code":"rejected","message":"no","permanent":true}}`, wire.AckError{Code: "rejected", Message: "no", Permanent: true}},
		{`{"ok":false}`, wire.AckError{Code: "unknown"}},
		{`{"ok":false,"error":null}`, wire.AckError{Code: "unknown"}},
	}
	for _, tt := range refusals {
		got, err := wire.Telemetry.DecodeAck(args(tt.raw))
		if err != nil || got.OK || got.Error == nil || *got.Error != tt.want {
			t.Errorf("ack %s = %+v (error %+v), %v; want a refusal %+v", tt.raw, got, got.Error, err, tt.want)
		}
	}
	for _, raw := range [][]string{{}, {`"ok"`}, {`{"duplicate":true}`}, {`{"ok":"yes"}`}, {`{"ok":false,"error":"boom"}`}} {
		got, err := wire.Telemetry.DecodeAck(args(raw...))
		var ae *wire.AckError
		if !errors.As(err, &ae) || ae.Code != wire.CodeBadAck || ae.Permanent || got.OK {
			t.Errorf("ack %v = %+v, %v; want a transient %s AckError", raw, got, err, wire.CodeBadAck)
		}
	}
}

// TestReplyJSON: the command ack shapes of docs/PROTOCOL.md.
func TestReplyJSON(t *testing.T) {
	for _, tt := range []struct {
		v    any
		want string
	}{
		{wire.Reply[wire.SamplingSetResult]{OK: true, Result: wire.SamplingSetResult{Sensor: "s", Interval: "1s"}}, `{"ok":true,"result":{"sensor":"s","interval":"1s"}}`},
		{wire.Reply[wire.SamplingSetResult]{Error: &wire.CommandError{Code: wire.CodeBadArgs, Message: "m"}}, `{"ok":false,"error":{"code":"bad_args","message":"m"}}`},
		{wire.Reply[any]{OK: true}, `{"ok":true}`},
	} {
		b, err := json.Marshal(tt.v)
		if err != nil || string(b) != tt.want {
			t.Errorf("%+v marshals to %s, %v; want %s", tt.v, b, err, tt.want)
		}
	}
}

// Regression: a Reply goes through the client's encoder as any argument
// does, so []byte in a result travels as a binary attachment (a
// MarshalJSON on Reply once turned it into base64), and an error reply
// with a struct Result has no "result".
func TestReplyOnTheWire(t *testing.T) {
	data, atts, err := socketio.MarshalArgs(wire.Reply[map[string]any]{OK: true, Result: map[string]any{"b": []byte{1, 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 1 || string(atts[0]) != "\x01\x02" || string(data) != `[{"ok":true,"result":{"b":{"_placeholder":true,"num":0}}}]` {
		t.Errorf("ok reply with binary: %s, %d attachments", data, len(atts))
	}
	data, _, err = socketio.MarshalArgs(wire.Reply[wire.GPIOReadResult]{Error: &wire.CommandError{Code: wire.CodeFailed}})
	if err != nil || string(data) != `[{"ok":false,"error":{"code":"failed"}}]` {
		t.Errorf("error reply: %s, %v", data, err)
	}
}
