package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/sioagent/sioagent/wire"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testCommandTimeout is the dispatcher timeout of tests that do not test it.
const testCommandTimeout = 10 * time.Second

func testDispatcher(t *testing.T, timeout time.Duration, remember int) *dispatcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := newDispatcher(ctx, timeout, remember, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { cancel(); d.wait() })
	return d
}

func wantError(t *testing.T, a answer, code string) {
	t.Helper()
	if a.ack.OK || a.ack.Error == nil {
		t.Fatalf("answer %+v, want error %q", a.ack, code)
	}
	if a.ack.Error.Code != code {
		t.Fatalf("error code %q (%s), want %q", a.ack.Error.Code, a.ack.Error.Message, code)
	}
}

func TestDispatcherOK(t *testing.T) {
	d := testDispatcher(t, testCommandTimeout, 8)
	d.handle("echo", func(_ context.Context, args json.RawMessage) (Result, error) {
		return Result{Value: string(args), Binary: []byte{1, 2}}, nil
	})
	a := d.run("echo", "", json.RawMessage(`{"x":1}`), noRelease)
	if !a.ack.OK || a.ack.Result != `{"x":1}` || a.ack.Error != nil {
		t.Fatalf("ack %+v", a.ack)
	}
	args := a.args()
	if len(args) != 2 || string(args[1].([]byte)) != "\x01\x02" {
		t.Fatalf("args %v", args)
	}
	b, err := json.Marshal(args[0])
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"ok":true,"result":"{\"x\":1}"}` {
		t.Errorf("ack JSON %s", b)
	}
}

func TestDispatcherErrors(t *testing.T) {
	d := testDispatcher(t, testCommandTimeout, 8)
	d.handle("coded", func(context.Context, json.RawMessage) (Result, error) {
		return Result{}, fmt.Errorf("wrapped: %w", &wire.CommandError{Code: wire.CodeNotFound, Message: "no such thing"})
	})
	d.handle("plain", func(context.Context, json.RawMessage) (Result, error) {
		return Result{}, errors.New("disk on fire")
	})
	d.handle("panics", func(context.Context, json.RawMessage) (Result, error) {
		panic("boom")
	})

	a := d.run("nope", "", nil, noRelease)
	wantError(t, a, wire.CodeUnknownCommand)
	if !strings.Contains(a.ack.Error.Message, `"nope"`) {
		t.Errorf("message %q does not name the command", a.ack.Error.Message)
	}
	a = d.run("coded", "", nil, noRelease)
	wantError(t, a, wire.CodeNotFound)
	if a.ack.Error.Message != "no such thing" {
		t.Errorf("message %q", a.ack.Error.Message)
	}
	a = d.run("plain", "", nil, noRelease)
	wantError(t, a, wire.CodeFailed)
	if a.ack.Error.Message != "disk on fire" {
		t.Errorf("message %q", a.ack.Error.Message)
	}
	wantError(t, d.run("panics", "", nil, noRelease), wire.CodeFailed)
	// The dispatcher still works after a panic.
	wantError(t, d.run("plain", "", nil, noRelease), wire.CodeFailed)

	b, err := json.Marshal(errAnswer(&wire.CommandError{Code: wire.CodeBadArgs, Message: "m"}).args()[0])
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"ok":false,"error":{"code":"bad_args","message":"m"}}` {
		t.Errorf("error ack JSON %s", b)
	}
}

func TestDispatcherTimeout(t *testing.T) {
	const timeout = 50 * time.Millisecond
	d := testDispatcher(t, timeout, 8)
	d.handle("honours", func(ctx context.Context, _ json.RawMessage) (Result, error) {
		<-ctx.Done()
		return Result{}, ctx.Err()
	})
	release := make(chan struct{})
	defer close(release)
	d.handle("ignores", func(context.Context, json.RawMessage) (Result, error) {
		<-release
		return Result{Value: "late"}, nil
	})
	for _, name := range []string{"honours", "ignores"} {
		start := time.Now()
		a := d.run(name, "", nil, noRelease)
		wantError(t, a, wire.CodeTimeout)
		if el := time.Since(start); el < timeout {
			t.Errorf("%s: answered after %s, before the %s timeout", name, el, timeout)
		}
	}
}

func TestDispatcherIdempotentRace(t *testing.T) {
	d := testDispatcher(t, testCommandTimeout, 8)
	var runs atomic.Int32
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	d.handle("count", func(context.Context, json.RawMessage) (Result, error) {
		n := runs.Add(1)
		entered <- struct{}{}
		<-release
		return Result{Value: n}, nil
	})
	const callers = 8
	answers := make([]answer, callers)
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	for i := range callers {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-gate
			answers[i] = d.run("count", "c-1", json.RawMessage(`{"id":"c-1"}`), noRelease)
		}()
	}
	ready.Wait()
	close(gate)
	<-entered
	time.Sleep(20 * time.Millisecond) // let the others reach the cache
	close(release)
	done.Wait()
	if n := runs.Load(); n != 1 {
		t.Fatalf("command ran %d times, want 1", n)
	}
	for i, a := range answers {
		if !a.ack.OK || a.ack.Result != int32(1) {
			t.Errorf("caller %d: %+v", i, a.ack)
		}
	}
}

func TestDispatcherIdempotentKeys(t *testing.T) {
	const remember = 3
	d := testDispatcher(t, testCommandTimeout, remember)
	var runs atomic.Int32
	count := func(context.Context, json.RawMessage) (Result, error) { return Result{Value: runs.Add(1)}, nil }
	d.handle("a", count)
	d.handle("b", count)
	run := func(name, id string) int32 {
		t.Helper()
		a := d.run(name, id, nil, noRelease)
		if !a.ack.OK {
			t.Fatalf("%s %s: %+v", name, id, a.ack)
		}
		return a.ack.Result.(int32)
	}
	if got := run("a", "x"); got != 1 {
		t.Fatalf("first run %d", got)
	}
	if got := run("a", "x"); got != 1 {
		t.Errorf("same (name, id) ran again: %d", got)
	}
	if got := run("a", "y"); got != 2 {
		t.Errorf("other id: %d, want 2", got)
	}
	if got := run("b", "x"); got != 3 {
		t.Errorf("other name, same id: %d, want 3", got)
	}
	// Without an id every call runs.
	if got := run("a", ""); got != 4 {
		t.Errorf("no id: %d, want 4", got)
	}
	if got := run("a", ""); got != 5 {
		t.Errorf("no id again: %d, want 5", got)
	}
	// The cache holds (a,x), (a,y), (b,x): full, (a,x) still answered.
	if got := run("a", "x"); got != 1 {
		t.Errorf("(a,x) forgotten too early: %d", got)
	}
	if got := run("a", "z"); got != 6 { // evicts (a,x), the oldest
		t.Errorf("new id: %d, want 6", got)
	}
	if got := run("a", "x"); got != 7 {
		t.Errorf("(a,x) still remembered beyond %d ids: %d", remember, got)
	}
	if n := d.ids.order.Len(); n != remember {
		t.Errorf("cache holds %d entries, want %d", n, remember)
	}
}

func TestDispatcherDuplicateWhileStopping(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	d := newDispatcher(ctx, testCommandTimeout, 8, slog.New(slog.DiscardHandler))
	entered := make(chan struct{})
	d.handle("slow", func(ctx context.Context, _ json.RawMessage) (Result, error) {
		close(entered)
		<-ctx.Done()
		return Result{}, ctx.Err()
	})
	first := make(chan answer, 1)
	go func() { first <- d.run("slow", "s", nil, noRelease) }()
	<-entered
	second := make(chan answer, 1)
	go func() { second <- d.run("slow", "s", nil, noRelease) }()
	cancel()
	a2 := <-second
	if a2.ack.OK {
		t.Fatalf("duplicate answered OK: %+v", a2.ack)
	}
	a1 := <-first
	if a1.ack.OK {
		t.Fatalf("first answered OK: %+v", a1.ack)
	}
}

func TestCommandID(t *testing.T) {
	long := strings.Repeat("x", maxCommandID)
	tests := []struct {
		raw     string
		want    string
		wantErr bool
	}{
		{``, "", false},
		{`null`, "", false},
		{`[1,2]`, "", false},
		{`{}`, "", false},
		{`{"pin":"GPIO27"}`, "", false},
		{`{"id":"c-91","pin":"GPIO27"}`, "c-91", false},
		{` {"id":"c-91"}`, "c-91", false},
		{`{"id":` + `"` + long + `"}`, long, false},
		{`{"id":` + `"` + long + `x"}`, "", true},
		{`{"id":42}`, "", true},
		{`{"id":null}`, "", false}, // null: no id
		{`{"id":{"a":1}}`, "", true},
		{`{"id":"c-1"`, "", false}, // not JSON: no id; the command's decodeArgs reports it
	}
	for _, tt := range tests {
		got, err := commandID(json.RawMessage(tt.raw))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("commandID(%s) = %q, %v; want %q, error %v", tt.raw, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestDecodeArgs(t *testing.T) {
	type args struct {
		wire.CommandID
		Pin   string `json:"pin"`
		Value *bool  `json:"value"`
	}
	ok := []struct {
		raw  string
		want args
	}{
		{``, args{}},
		{`null`, args{}},
		{` null `, args{}},
		{`{}`, args{}},
		{`{"id":"c-1","pin":"GPIO27"}`, args{Pin: "GPIO27"}},
		{`{"pin":"GPIO27","value":true}`, args{Pin: "GPIO27", Value: new(true)}},
	}
	for _, tt := range ok {
		var got args
		if err := decodeArgs(json.RawMessage(tt.raw), &got); err != nil {
			t.Errorf("decodeArgs(%s): %v", tt.raw, err)
			continue
		}
		if got.Pin != tt.want.Pin || (got.Value == nil) != (tt.want.Value == nil) || (got.Value != nil && *got.Value != *tt.want.Value) {
			t.Errorf("decodeArgs(%s) = %+v, want %+v", tt.raw, got, tt.want)
		}
	}
	bad := []string{`{"pin":"GPIO27","valeu":true}`, `[1]`, `"x"`, `42`, `true`, `{"pin":1}`, `{"pin":`}
	for _, raw := range bad {
		var got args
		err := decodeArgs(json.RawMessage(raw), &got)
		var ce *wire.CommandError
		if !errors.As(err, &ce) || ce.Code != wire.CodeBadArgs {
			t.Errorf("decodeArgs(%s) = %v, want a bad_args wire.CommandError", raw, err)
		}
	}
}

// TestDispatcherBusy: beyond maxConcurrentCommands running commands, start
// answers "busy" at once; the running ones still finish.
func TestDispatcherBusy(t *testing.T) {
	d := testDispatcher(t, testCommandTimeout, 64)
	release := make(chan struct{})
	var entered sync.WaitGroup
	entered.Add(maxConcurrentCommands)
	d.handle("block", func(context.Context, json.RawMessage) (Result, error) {
		entered.Done()
		<-release
		return Result{Value: "done"}, nil
	})
	answers := make(chan answer, maxConcurrentCommands+2)
	reply := func(a answer) { answers <- a }
	for i := range maxConcurrentCommands {
		d.start("block", json.RawMessage(fmt.Sprintf(`{"id":"b-%d"}`, i)), reply)
	}
	entered.Wait()
	var busy answer
	d.start("block", json.RawMessage(`{"id":"extra"}`), func(a answer) { busy = a }) // answered synchronously
	wantError(t, busy, wire.CodeBusy)
	close(release)
	for range maxConcurrentCommands {
		a := <-answers
		if !a.ack.OK || a.ack.Result != "done" {
			t.Errorf("running command answered %+v", a.ack)
		}
	}
	d.wait()
	// Slots are free again; a bad id is reported through the reply.
	d.start("block", json.RawMessage(`{"id":7}`), reply)
	wantError(t, <-answers, wire.CodeBadArgs)
}

// TestDispatcherStopIsNotTimeout: a command cut short because the agent
// stops is answered "failed", not "timeout" (it did not time out).
func TestDispatcherStopIsNotTimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	d := newDispatcher(ctx, testCommandTimeout, 8, slog.New(slog.DiscardHandler))
	entered := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	d.handle("stuck", func(context.Context, json.RawMessage) (Result, error) {
		close(entered)
		<-release // ignores ctx
		return Result{}, nil
	})
	got := make(chan answer, 1)
	go func() { got <- d.run("stuck", "", nil, noRelease) }()
	<-entered
	cancel()
	a := <-got
	wantError(t, a, wire.CodeFailed)
	if a.ack.Error.Message != "agent stopping" {
		t.Errorf("message %q", a.ack.Error.Message)
	}
}

// noRelease is the slot release of commands run directly by tests.
func noRelease() {}
