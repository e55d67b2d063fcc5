package agent

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/wire"
)

// ackOf runs the built-in command def with the JSON args through the
// dispatcher, as a server's command would, and decodes the ack it would
// send (its packet arguments, binary attachments apart) with the wire
// contract's definition.
func ackOf[A, R any](t *testing.T, a *Agent, def socketio.TypedEvent[A, R], args string) R {
	t.Helper()
	fn, ok := a.disp.lookup(def.Name())
	if !ok {
		t.Fatalf("%s is not registered", def.Name())
	}
	ans := a.disp.exec(def.Name(), fn, json.RawMessage(args))
	data, attachments, err := socketio.MarshalArgs(ans.args()...)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := socketio.SplitArray(data)
	if err != nil {
		t.Fatal(err)
	}
	// The reply must hold nothing the contract does not declare.
	var strict json.RawMessage = raw[0]
	reply, err := def.DecodeAck(socketio.NewArgs(raw, attachments))
	if err != nil {
		t.Fatalf("%s: ack %s does not decode with the contract: %v", def.Name(), strict, err)
	}
	// Decoded again as the arguments of a Strict definition, whose
	// decoding refuses members its types do not declare, at every depth.
	asArgs := socketio.NewEvent[R, socketio.NoArgs](def.Name()).Strict()
	if _, err := asArgs.DecodeArgs(socketio.NewArgs(raw, attachments)); err != nil {
		t.Errorf("%s: ack %s has members the contract does not declare: %v", def.Name(), strict, err)
	}
	return reply
}

// TestBuiltinAcksMatchTheContract: what every built-in command answers
// decodes with its definition in package wire, the binary pack of
// sensor:read as the ack's second argument.
func TestBuiltinAcksMatchTheContract(t *testing.T) {
	a, _ := startTestAgent(t, newFakeHardware("GPIO27", "GPIO17"))
	waitReads(t, a)
	if r := ackOf(t, a, wire.Ping, `{"id":"p-1"}`); !r.OK || !r.Result.Pong || r.Result.Version != "1.2.3" {
		t.Errorf("agent:ping ack %+v", r)
	}
	if r := ackOf(t, a, wire.Status, `{}`); !r.OK || !json.Valid(r.Result) {
		t.Errorf("agent:status ack %+v", r)
	}
	if r := ackOf(t, a, wire.SensorRead, `{"sensor":"counter"}`); !r.First.OK || r.First.Result.Sensor != "counter" || r.First.Result.Count != 1 || len(r.Second) == 0 {
		t.Errorf("sensor:read ack %+v", r)
	}
	if r := ackOf(t, a, wire.GPIOWrite, `{"pin":"GPIO27","value":true}`); !r.OK || !r.Result.Value || r.Result.Sensor != "relay" {
		t.Errorf("gpio:write ack %+v", r)
	}
	if r := ackOf(t, a, wire.GPIORead, `{"pin":"GPIO27"}`); !r.OK || !r.Result.Value || !r.Result.Output {
		t.Errorf("gpio:read ack %+v", r)
	}
	if r := ackOf(t, a, wire.SamplingSet, `{"sensor":"button","interval":"30s"}`); !r.OK || r.Result.Interval != "30s" {
		t.Errorf("sampling:set ack %+v", r)
	}
	if r := ackOf(t, a, wire.QueueStats, ``); !r.OK || !json.Valid(r.Result) {
		t.Errorf("queue:stats ack %+v", r)
	}
	r := ackOf(t, a, wire.GPIOWrite, `{"pin":"GPIO27","valeu":true}`)
	if r.OK || r.Error == nil || r.Error.Code != wire.CodeBadArgs {
		t.Errorf("gpio:write with a misspelt member: ack %+v, want a %s error", r, wire.CodeBadArgs)
	}
}

// A command with more than its one argument object is refused with
// bad_args, as its Strict wire definition refuses it, instead of running
// with the extra arguments ignored. The server sends it to the agent's
// own socket ("ask").
func TestCommandWithExtraArgumentsIsRefused(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	a := flushAgent(t, srv.URL(), 0)
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	if err := a.sock.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []any
		ok   bool
	}{
		{[]any{map[string]any{"id": "x-1"}}, true},
		{[]any{map[string]any{}, 5}, false},
	} {
		reply, err := a.sock.EmitWithAck(ctx, "ask", append([]any{wire.Ping.Name()}, tt.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var acks []wire.Reply[wire.PingResult] // the agent's ack arguments
		if err := reply.Decode(0, &acks); err != nil || len(acks) != 1 {
			t.Fatalf("ask reply %s: %v", reply.Raw(0), err)
		}
		got := acks[0]
		if tt.ok && !got.OK || !tt.ok && (got.OK || got.Error == nil || got.Error.Code != wire.CodeBadArgs) {
			t.Errorf("ping with arguments %v: %+v", tt.args, got)
		}
	}
}
