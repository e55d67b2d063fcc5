package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/protocol/socketio"
)

// reading is the JSON half of the typed test events.
type reading struct {
	Sensor string  `json:"sensor"`
	Value  float64 `json:"value"`
}

// The definitions the tests use, as an application declares them.
var (
	// echo: the server acks with the arguments it got.
	echoReading = socketio.NewEvent[socketio.Pair[reading, []byte], socketio.Pair[reading, []byte]]("echo")
	// buffa: the server answers "buffack"(true) when its argument arrived
	// as a binary attachment (a Buffer), not as a base64 string.
	buffa   = socketio.NewEvent[[]byte, socketio.NoArgs]("buffa")
	buffack = socketio.NewEvent[bool, socketio.NoArgs]("buffack")
	// ask: the server emits event(args...) to the client with an ack, and
	// acks the ask with the client's ack arguments (or {error}).
	ask = socketio.NewEvent[socketio.Pair[string, reading], []any]("ask")
	// calibrate is the command the server sends through ask.
	calibrate = socketio.NewEvent[reading, calibrated]("calibrate").Strict()
)

type calibrated struct {
	Sensor string  `json:"sensor"`
	Offset float64 `json:"offset"`
}

// TestTypedEmitWithAck: a Pair with a []byte travels as a JSON argument and
// a binary attachment, and the ack decodes into the ack type.
func TestTypedEmitWithAck(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	eachMode(t, func(t *testing.T, m mode) {
		_, s := m.connect(t, srv, "/", nil, nil)
		sent := socketio.Pair[reading, []byte]{First: reading{"greenhouse", 21.5}, Second: []byte{0, 1, 0xff}}
		got, err := echoReading.EmitWithAck(ctxT(t), s, sent)
		if err != nil {
			t.Fatal(err)
		}
		if got.First != sent.First || string(got.Second) != string(sent.Second) {
			t.Errorf("echo = %+v, want %+v", got, sent)
		}

		acked := make(chan bool, 1)
		remove := buffack.On(s, func(isBuffer bool) { acked <- isBuffer })
		defer remove()
		if err := buffa.Emit(ctxT(t), s, []byte("asdf")); err != nil {
			t.Fatal(err)
		}
		if !wait(t, acked, "buffack") {
			t.Error("the server got the []byte argument as something else than a binary attachment")
		}
	})
}

// TestTypedAckDecodeError: an ack that does not fit the ack type is an
// error of EmitWithAck, naming the event.
func TestTypedAckDecodeError(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	_, s := connect(t, srv, "/", nil, nil)
	wrong := socketio.NewEvent[string, int]("echo") // the echo of a string is no int
	_, err := wrong.EmitWithAck(ctxT(t), s, "not a number")
	if err == nil || !strings.Contains(err.Error(), `ack of "echo"`) {
		t.Errorf("EmitWithAck = %v, want a decoding error of the ack of \"echo\"", err)
	}
}

// askClient makes the server send calibrate(args) to s with an ack and
// returns the client's ack arguments as the server saw them.
func askClient(t *testing.T, s *socketio.Socket, args any) []any {
	t.Helper()
	reply, err := s.EmitWithAck(ctxT(t), "ask", calibrate.Name(), args)
	if err != nil {
		t.Fatal(err)
	}
	var got []any
	if err := reply.Decode(0, &got); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestTypedHandle: a typed handler gets decoded arguments and its result
// is the ack; an error becomes the configured error ack; arguments that do
// not decode (a wrong type, an unknown field of a Strict definition) are
// counted, the handler is not called and the sender gets an error ack.
func TestTypedHandle(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	opts := &socketio.SocketOptions{ErrorAck: func(event string, err error) []any {
		return []any{map[string]any{"ok": false, "event": event, "message": err.Error()}}
	}}
	c, s := connect(t, srv, "/", opts, nil)
	var calls atomic.Int64
	remove := calibrate.Handle(s, func(ctx context.Context, r reading) (calibrated, error) {
		calls.Add(1)
		if ctx.Err() != nil {
			t.Error("handler context already done")
		}
		if r.Value < 0 {
			return calibrated{}, errors.New("negative reading")
		}
		return calibrated{Sensor: r.Sensor, Offset: 0.5}, nil
	})

	got := askClient(t, s, map[string]any{"sensor": "greenhouse", "value": 21.5})
	if m, _ := got[0].(map[string]any); len(got) != 1 || m["sensor"] != "greenhouse" || fmt.Sprint(m["offset"]) != "0.5" {
		t.Errorf("ack = %v, want [{sensor: greenhouse, offset: 0.5}]", got)
	}
	got = askClient(t, s, map[string]any{"sensor": "greenhouse", "value": -1})
	if m, _ := got[0].(map[string]any); m["ok"] != false || m["event"] != "calibrate" || m["message"] != "negative reading" {
		t.Errorf("error ack = %v, want the configured shape with the handler's error", got)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("handler ran %d times, want 2", n)
	}

	for i, bad := range []any{
		map[string]any{"sensor": 42},              // wrong type
		map[string]any{"sensor": "g", "valeu": 1}, // unknown field (Strict)
		"greenhouse", // not an object
	} {
		got = askClient(t, s, bad)
		m, _ := got[0].(map[string]any)
		if msg, _ := m["message"].(string); m["ok"] != false || !strings.Contains(msg, `event "calibrate"`) {
			t.Errorf("ack of bad arguments %v = %v, want an error ack naming the event", bad, got)
		}
		if n := c.Stats().DecodeErrors; n != uint64(i+1) {
			t.Errorf("Stats.DecodeErrors = %d, want %d", n, i+1)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("handler ran for arguments that do not decode (%d calls, want 2)", n)
	}

	remove()
	s.On(calibrate.Name(), func(e *socketio.Event) { e.Ack("untyped") })
	got = askClient(t, s, map[string]any{"sensor": "greenhouse", "value": 1})
	if len(got) != 1 || got[0] != "untyped" || calls.Load() != 2 {
		t.Errorf("ask after removing the typed handler = %v (typed handler calls %d), want the other handler's ack only", got, calls.Load())
	}
}

// TestTypedHandleDefaultErrorAck: without SocketOptions.ErrorAck a
// handler's error is acked as {"error": message}.
func TestTypedHandleDefaultErrorAck(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	_, s := connect(t, srv, "/", nil, nil)
	defer calibrate.Handle(s, func(context.Context, reading) (calibrated, error) {
		return calibrated{}, errors.New("sensor busy")
	})()
	got := askClient(t, s, map[string]any{"sensor": "g", "value": 1})
	if m, _ := got[0].(map[string]any); len(got) != 1 || m["error"] != "sensor busy" {
		t.Errorf("error ack = %v, want [{error: sensor busy}]", got)
	}
}
