package agent

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/sioagent/sioagent/wire"
	"math"
	"testing"
)

// panickyResult panics when it is encoded.
type panickyResult struct{}

func (panickyResult) MarshalJSON() ([]byte, error) { panic("a bug in MarshalJSON") }

// A result whose encoding panics or fails becomes a "failed" error ack; it
// never reaches the ack writer, where a panic would end the process.
func TestDispatcherResultNotEncodable(t *testing.T) {
	d := testDispatcher(t, testCommandTimeout, 8)
	d.handle("panicky", func(context.Context, json.RawMessage) (Result, error) {
		return Result{Value: panickyResult{}}, nil
	})
	d.handle("nan", func(context.Context, json.RawMessage) (Result, error) {
		return Result{Value: math.NaN()}, nil
	})
	for _, name := range []string{"panicky", "nan"} {
		a := d.run(name, "", nil, noRelease)
		wantError(t, a, wire.CodeFailed)
		if _, err := json.Marshal(a.args()[0]); err != nil {
			t.Fatalf("%s: the error ack itself does not encode: %v", name, errors.Unwrap(err))
		}
	}
}
