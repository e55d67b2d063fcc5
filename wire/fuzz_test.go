package wire_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/wire"
)

// FuzzTelemetryAck feeds arbitrary ack packets, as a hostile server may
// send them, to the telemetry ack decoder: it must never panic, and every
// outcome must be one the outbox can act on: an ok ack without error, a
// refusal with its error, or a transient bad_ack.
func FuzzTelemetryAck(f *testing.F) {
	for _, seed := range []string{
		`[{"ok":true}]`, `[{"ok":true,"duplicate":true}]`, `[{"ok":false}]`, `[]`, `[1]`, `["ok"]`, `[null]`,
		`[{"ok":false,"error":{"code":"rejected","message":"m","permanent":true}}]`, `[{"ok":false,"error":[1]}]`,
		`[{"ok":{"a":1}}]`, `[{"ok":true},{"_placeholder":true,"num":0}]`, `[{"error":{"code":7}}]`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		raw, err := socketio.SplitArray(json.RawMessage(data))
		if err != nil {
			return // not an ack packet's arguments: the codec refuses it first
		}
		ack, err := wire.Telemetry.DecodeAck(socketio.NewArgs(raw, nil))
		var ae *wire.AckError
		switch {
		case err != nil:
			if !errors.As(err, &ae) || ae.Code != wire.CodeBadAck || ae.Permanent || ack.OK {
				t.Fatalf("%s: error %v (ack %+v), want a transient %s", data, err, ack, wire.CodeBadAck)
			}
		case ack.OK && ack.Error != nil, !ack.OK && ack.Error == nil:
			t.Fatalf("%s: ack %+v: ok and error disagree", data, ack)
		}
	})
}
