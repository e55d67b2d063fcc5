package agent

import (
	"context"
	"encoding/json"
	"github.com/sioagent/sioagent/wire"
	"testing"
)

// FuzzCommandArgs feeds arbitrary command arguments, as they come from the
// server, to the argument handling of every built-in command: it must
// answer (with a result or a *wire.CommandError), never panic.
func FuzzCommandArgs(f *testing.F) {
	for _, seed := range []string{
		`{}`, `null`, ``, `[]`, `"x"`, `7`, `{"id":"c-1"}`, `{"id":7}`, `{"id":null}`,
		`{"sensor":"counter"}`, `{"sensor":42}`, `{"pin":"GPIO27","value":true}`, `{"pin":"GPIO17"}`,
		`{"sensor":"counter","interval":"30s"}`, `{"sensor":"counter","interval":"-1s"}`, `{"a":{"b":[1,2,{"c":null}]}}`,
		`{"id":"` + string(make([]byte, 200)) + `"}`, `{"pin":"GPIO27","value":"yes"}`, `{`, `{"sensor":"counter",}`,
	} {
		f.Add(seed)
	}
	a, _ := startTestAgent(f, newFakeHardware("GPIO27", "GPIO17"))
	var cmds []CommandFunc
	for _, name := range wire.Commands() {
		fn, ok := a.disp.lookup(name)
		if !ok {
			f.Fatalf("built-in %q not registered", name)
		}
		cmds = append(cmds, fn)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if _, err := commandID(json.RawMessage(raw)); err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
		for _, fn := range cmds {
			ctx, cancel := context.WithTimeout(context.Background(), testCommandTimeout)
			res, err := fn(ctx, json.RawMessage(raw))
			cancel()
			if err == nil && res.Value == nil {
				t.Fatalf("%q: no error and no result", raw)
			}
		}
	})
}
