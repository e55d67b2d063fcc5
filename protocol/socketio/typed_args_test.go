package socketio

import (
	"encoding/json"
	"testing"
)

// argsOf builds the Args of a packet with these JSON arguments.
func argsOf(raw ...string) Args {
	a := Args{}
	for _, r := range raw {
		a.raw = append(a.raw, json.RawMessage(r))
	}
	return a
}

type point struct {
	X int `json:"x"`
}

// TestTypedArity: missing arguments decode as zero values; extra ones are
// ignored, unless the definition is Strict; NoArgs and Pair spread over
// the argument list.
func TestTypedArity(t *testing.T) {
	one := NewEvent[point, Pair[point, string]]("e")
	if p, err := one.DecodeArgs(argsOf()); err != nil || p != (point{}) {
		t.Errorf("no argument: %+v, %v; want the zero value", p, err)
	}
	if p, err := one.DecodeArgs(argsOf(`{"x":1}`, `2`)); err != nil || p.X != 1 {
		t.Errorf("an extra argument: %+v, %v; want it ignored", p, err)
	}
	if _, err := one.Strict().DecodeArgs(argsOf(`{"x":1}`, `2`)); err == nil {
		t.Error("Strict: an extra argument decoded without error")
	}
	if _, err := one.Strict().DecodeArgs(argsOf(`{"x":1,"y":2}`)); err == nil {
		t.Error("Strict: an unknown field decoded without error")
	}
	if _, err := one.DecodeArgs(argsOf(`{"x":1,"y":2}`)); err != nil {
		t.Errorf("not strict: an unknown field: %v", err)
	}
	pair, err := one.DecodeAck(argsOf(`{"x":3}`))
	if err != nil || pair.First.X != 3 || pair.Second != "" {
		t.Errorf("Pair with one argument: %+v, %v", pair, err)
	}
	pairs := NewEvent[Pair[point, string], point]("p").Strict()
	if _, err := pairs.DecodeArgs(argsOf(`{}`, `"a"`, `"b"`)); err == nil {
		t.Error("Strict Pair: three arguments decoded without error")
	}
	if _, err := pairs.DecodeAck(argsOf(`{"x":1,"y":2}`, `3`)); err != nil {
		t.Errorf("Strict definition, lenient ack: %v", err)
	}
	if got := len(one.EncodeAck(Pair[point, string]{})); got != 2 {
		t.Errorf("Pair encodes as %d arguments, want 2", got)
	}
	none := NewEvent[NoArgs, NoArgs]("n")
	if got := none.EncodeArgs(NoArgs{}); len(got) != 0 {
		t.Errorf("NoArgs encodes as %v, want no arguments", got)
	}
	if _, err := none.DecodeArgs(argsOf(`1`)); err != nil {
		t.Errorf("NoArgs, not strict, with an argument: %v", err)
	}
	if _, err := none.Strict().DecodeArgs(argsOf(`1`)); err == nil {
		t.Error("Strict NoArgs: an argument decoded without error")
	}
	if n := none.Named("m"); n.Name() != "m" || none.Name() != "n" {
		t.Errorf("Named: %q, original %q", n.Name(), none.Name())
	}
}
