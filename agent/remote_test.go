package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/wire"
)

// fakeRemote is a RemoteConfig answering fixed results, with one
// unreported rollback until Reported.
type fakeRemote struct {
	mu       sync.Mutex
	report   *wire.ConfigRolledBackEvent
	reported []string
}

func (f *fakeRemote) Get() (wire.ConfigGetResult, error) {
	return wire.ConfigGetResult{Config: json.RawMessage(`{"device":{"id":"pi-test"}}`), Hash: "h1"}, nil
}

func (f *fakeRemote) Apply(a wire.ConfigApplyArgs) (wire.ConfigApplyResult, error) {
	if a.TOML == nil {
		return wire.ConfigApplyResult{}, &wire.CommandError{Code: wire.CodeBadConfig, Message: "no toml"}
	}
	return wire.ConfigApplyResult{Pending: true, Hash: "h2", Deadline: "2026-01-01T00:00:00Z"}, nil
}

func (f *fakeRemote) Confirm(a wire.ConfigConfirmArgs) (wire.ConfigConfirmResult, error) {
	return wire.ConfigConfirmResult{Hash: a.Hash, Confirmed: true}, nil
}

func (f *fakeRemote) Status() RemoteConfigStatus {
	return RemoteConfigStatus{Enabled: true, Hash: "h1", Rollbacks: map[string]uint64{wire.RollbackDeadline: 1}}
}

func (f *fakeRemote) Unreported() (wire.ConfigRolledBackEvent, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.report == nil {
		return wire.ConfigRolledBackEvent{}, false
	}
	return *f.report, true
}

func (f *fakeRemote) Reported(hash string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reported = append(f.reported, hash)
	f.report = nil
}

func (f *fakeRemote) reportedHashes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reported)
}

// Without a RemoteConfig the remote configuration commands answer
// not_allowed; with one they answer what it answers, through the wire
// contract's types, and the status carries its part.
func TestConfigCommands(t *testing.T) {
	a, _ := startTestAgent(t, newFakeHardware("GPIO27", "GPIO17"))
	if r := ackOf(t, a, wire.ConfigGet, `{}`); r.OK || r.Error.Code != wire.CodeNotAllowed {
		t.Errorf("config:get without remote config: %+v", r)
	}
	if r := ackOf(t, a, wire.ConfigApply, `{"toml":"","confirm_within":"1m"}`); r.OK || r.Error.Code != wire.CodeNotAllowed {
		t.Errorf("config:apply without remote config: %+v", r)
	}
	if r := ackOf(t, a, wire.ConfigConfirm, `{"hash":"h"}`); r.OK || r.Error.Code != wire.CodeNotAllowed {
		t.Errorf("config:confirm without remote config: %+v", r)
	}
	if a.Status().RemoteConfig != nil {
		t.Errorf("status has a remoteConfig member without a RemoteConfig")
	}

	a.opts.RemoteConfig = &fakeRemote{}
	if r := ackOf(t, a, wire.ConfigGet, `{"id":"g-1"}`); !r.OK || r.Result.Hash != "h1" || string(r.Result.Config) != `{"device":{"id":"pi-test"}}` {
		t.Errorf("config:get %+v", r)
	}
	if r := ackOf(t, a, wire.ConfigApply, `{"toml":"[telemetry]\nbatch_max_records = 3\n","confirm_within":"1m"}`); !r.OK || !r.Result.Pending || r.Result.Hash != "h2" {
		t.Errorf("config:apply %+v", r)
	}
	if r := ackOf(t, a, wire.ConfigApply, `{"json":{},"confirm_within":"1m"}`); r.OK || r.Error.Code != wire.CodeBadConfig {
		t.Errorf("config:apply error %+v", r)
	}
	if r := ackOf(t, a, wire.ConfigApply, `{"tomll":"","confirm_within":"1m"}`); r.OK || r.Error.Code != wire.CodeBadArgs {
		t.Errorf("config:apply with a misspelt member %+v", r)
	}
	if r := ackOf(t, a, wire.ConfigConfirm, `{"hash":"h2"}`); !r.OK || !r.Result.Confirmed || r.Result.Hash != "h2" {
		t.Errorf("config:confirm %+v", r)
	}
	if st := a.Status().RemoteConfig; st == nil || st.Hash != "h1" || st.Rollbacks[wire.RollbackDeadline] != 1 {
		t.Errorf("status remoteConfig %+v", st)
	}
}

// runAgent runs a in the background until the test ends; done is closed
// when Run returned, and err is then its value.
func runAgent(t *testing.T, a *Agent) (done <-chan struct{}, err *error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan struct{})
	var runErr error
	go func() { defer close(ch); runErr = a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-ch
	})
	return ch, &runErr
}

// A rollback no server has heard of is sent as config:rolledback when the
// agent connects, and marked reported.
func TestRollbackReportedOnConnect(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	cfg := testConfig(t, strings.Replace(builtinsTOML, "http://127.0.0.1:1", srv.URL(), 1))
	remote := &fakeRemote{report: &wire.ConfigRolledBackEvent{Hash: "h9", Reason: wire.RollbackRestart}}
	a, err := New(Options{Config: cfg, Hardware: newFakeHardware("GPIO27", "GPIO17"), Logger: slog.New(slog.DiscardHandler),
		Notify: func(string) error { return nil }, RemoteConfig: remote})
	if err != nil {
		t.Fatal(err)
	}
	runAgent(t, a)
	deadline := time.Now().Add(testWait)
	for len(remote.reportedHashes()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := remote.reportedHashes(); !slices.Equal(got, []string{"h9"}) {
		t.Fatalf("reported %v, want [h9]", got)
	}
	var got []wire.ConfigRolledBackEvent
	for time.Now().Before(deadline) {
		got = serverRollbacks(t, srv.URL(), "pi-test")
		if len(got) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(got) != 1 || got[0] != (wire.ConfigRolledBackEvent{Hash: "h9", Reason: wire.RollbackRestart}) {
		t.Fatalf("the server heard %+v", got)
	}
}

// serverRollbacks asks the example server for the config:rolledback
// reports of device.
func serverRollbacks(t *testing.T, url, device string) []wire.ConfigRolledBackEvent {
	t.Helper()
	c, err := socketio.New(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	s := c.Socket("/", nil)
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	args, err := s.EmitWithAck(ctx, "config-rollbacks", map[string]string{"deviceId": device})
	if err != nil {
		t.Fatal(err)
	}
	var out []wire.ConfigRolledBackEvent
	if err := args.Decode(0, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// Restart makes Run return at once, without a STOPPING=1, and a command
// running at the time (config:apply, whose answer asks for the restart)
// still gets its answer to the server.
func TestRestartLetsTheRunningCommandAnswer(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	cfg := testConfig(t, strings.Replace(builtinsTOML, "http://127.0.0.1:1", srv.URL(), 1))
	var mu sync.Mutex
	var notes []string
	a, err := New(Options{Config: cfg, Hardware: newFakeHardware("GPIO27", "GPIO17"), Logger: slog.New(slog.DiscardHandler),
		Notify: func(s string) error { mu.Lock(); notes = append(notes, s); mu.Unlock(); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	a.Handle("test:restart", func(context.Context, json.RawMessage) (Result, error) {
		a.Restart()
		time.Sleep(300 * time.Millisecond) // the main loop is stopping meanwhile
		return Result{Value: "answered"}, nil
	})
	done, runErr := runAgent(t, a)
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	if err := a.sock.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	body := `{"name":"test:restart","timeoutMs":5000}`
	resp, err := http.Post(srv.URL()+"/api/devices/pi-test/commands", "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		Ack wire.Reply[string] `json:"ack"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || resp.StatusCode != 200 || !ans.Ack.OK || ans.Ack.Result != "answered" {
		t.Fatalf("HTTP %d, answer %+v (%v): the command's ack was lost in the restart", resp.StatusCode, ans, err)
	}
	select {
	case <-done:
		if *runErr != nil {
			t.Fatalf("Run after Restart = %v", *runErr)
		}
	case <-time.After(testWait):
		t.Fatal("Run did not return after Restart")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, n := range notes {
		if strings.HasPrefix(n, "STOPPING=1") {
			t.Errorf("a restart told systemd it is stopping: %q", notes)
		}
	}
}

// ReloadSensors returns once the new sensors run.
func TestReloadSensorsWaits(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	cfg := testConfig(t, strings.Replace(builtinsTOML, "http://127.0.0.1:1", srv.URL(), 1))
	a, err := New(Options{Config: cfg, Hardware: newFakeHardware("GPIO27", "GPIO17"), Logger: slog.New(slog.DiscardHandler), Notify: func(string) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	runAgent(t, a)
	next := *cfg
	next.Sensors = cfg.Sensors[:1]
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	if err := a.ReloadSensors(ctx, &next); err != nil {
		t.Fatal(err)
	}
	if n := len(a.sampler().built); n != 1 {
		t.Errorf("%d sensors run after the reload, want 1", n)
	}
}
