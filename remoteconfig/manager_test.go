package remoteconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors/drivers"
	"github.com/sioagent/sioagent/wire"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testWait bounds the waits for what the Manager does by itself.
const testWait = 10 * time.Second

// localFile is the local configuration of these tests; %s is the outbox
// directory (the state directory) and %s the [remote_config] keys.
const localFile = `
[device]
id = "pi-7"
[server]
url = "http://127.0.0.1:1"
token_file = "/etc/sioagent/token"
[outbox]
path = %q
[telemetry]
batch_max_records = 50
[remote_config]
%s
[[sensors]]
name = "a"
driver = "sim"
signal = "counter"
`

// setup writes the local file with the [remote_config] keys rc in a new
// directory and returns its path.
func setup(t *testing.T, rc string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "sioagent.toml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(localFile, filepath.Join(dir, "outbox.db"), rc)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func open(t *testing.T, file string) *Manager {
	t.Helper()
	m, err := Open(Options{File: file, Drivers: drivers.New(), Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func ptr(s string) *string { return &s }

// apply applies the TOML change through s; it must succeed.
func apply(t *testing.T, s *Session, toml, within string) wire.ConfigApplyResult {
	t.Helper()
	r, err := s.Apply(wire.ConfigApplyArgs{TOML: ptr(toml), ConfirmWithin: within})
	if err != nil {
		t.Fatalf("apply %q: %v", toml, err)
	}
	if !r.Pending || len(r.Hash) != 64 {
		t.Fatalf("apply result %+v", r)
	}
	return r
}

// wantCode checks that err is a command error of code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var ce *wire.CommandError
	if !errors.As(err, &ce) || ce.Code != code {
		t.Fatalf("%s: error %v, want code %s", what, err, code)
	}
}

func pendingOnDisk(t *testing.T, m *Manager) bool {
	t.Helper()
	st, err := readState(m.Dir())
	if err != nil {
		t.Fatal(err)
	}
	return st.Pending
}

// A change is in effect at once, pending, and kept for good when a session
// that runs it confirms it; the next start keeps it.
func TestApplyThenConfirm(t *testing.T) {
	file := setup(t, "enabled = true")
	m := open(t, file)
	_, before := m.Effective()
	_, s := m.Session()
	r := apply(t, s, "[telemetry]\nbatch_max_records = 7\n", "1m")
	if !r.Reconnect || r.Hash == before {
		t.Errorf("apply result %+v: a [telemetry] change reconnects and changes the hash", r)
	}
	select {
	case <-m.Changed():
	default:
		t.Error("Changed not signalled after an apply")
	}
	cfg, hash := m.Effective()
	if cfg.Telemetry.BatchMaxRecords != 7 || hash != r.Hash || !pendingOnDisk(t, m) {
		t.Fatalf("in effect: %d records, hash %s (want 7, %s); pending on disk %v", cfg.Telemetry.BatchMaxRecords, hash, r.Hash, pendingOnDisk(t, m))
	}
	if g, err := s.Get(); err != nil || !g.Pending || g.Hash != r.Hash || g.Deadline != r.Deadline {
		t.Errorf("get %+v %v", g, err)
	}
	// The old session does not run it (it reconnects): refused.
	_, err := s.Confirm(wire.ConfigConfirmArgs{Hash: r.Hash})
	wantCode(t, "confirm through the old session", err, wire.CodeHashMismatch)
	_, next := m.Session()
	_, err = next.Confirm(wire.ConfigConfirmArgs{Hash: strings.Repeat("0", 64)})
	wantCode(t, "confirm of another hash", err, wire.CodeHashMismatch)
	if c, err := next.Confirm(wire.ConfigConfirmArgs{Hash: r.Hash}); err != nil || !c.Confirmed || c.Hash != r.Hash {
		t.Fatalf("confirm: %+v %v", c, err)
	}
	if pendingOnDisk(t, m) {
		t.Error("still pending on disk after the confirmation")
	}
	if c, err := next.Confirm(wire.ConfigConfirmArgs{Hash: r.Hash}); err != nil || !c.Confirmed {
		t.Errorf("confirming again: %+v %v", c, err)
	}
	if st := m.Stats(); st.Applies != 1 || st.Confirms != 1 || st.Rollbacks[wire.RollbackDeadline] != 0 {
		t.Errorf("stats %+v", st)
	}
	m.Close()
	again := open(t, file)
	if cfg, hash := again.Effective(); cfg.Telemetry.BatchMaxRecords != 7 || hash != r.Hash {
		t.Errorf("after a restart: %d records, hash %s, want the confirmed change", cfg.Telemetry.BatchMaxRecords, hash)
	}
	if _, ok := (&Session{m: again}).Unreported(); ok {
		t.Error("a rollback to report after a confirmed change")
	}
}

// A change of the sensors alone needs no reconnection: the session that
// applied it runs it and confirms it.
func TestSensorsChangeConfirmedInTheSameSession(t *testing.T) {
	m := open(t, setup(t, "enabled = true"))
	_, s := m.Session()
	r := apply(t, s, "[[sensors]]\nname = \"b\"\ndriver = \"sim\"\nsignal = \"sine\"\n", "1m")
	if r.Reconnect {
		t.Error("a [[sensors]] change reconnects")
	}
	if cfg, _ := m.Effective(); len(cfg.Sensors) != 1 || cfg.Sensors[0].Name != "b" {
		t.Errorf("sensors %+v", cfg.Sensors)
	}
	// Not before the caller says its sensors run the change: a sensor
	// that would not start must not be committed.
	var ce *wire.CommandError
	if _, err := s.Confirm(wire.ConfigConfirmArgs{Hash: r.Hash}); !errors.As(err, &ce) || ce.Code != wire.CodeHashMismatch {
		t.Fatalf("confirmed before the sensors were reloaded: %v", err)
	}
	s.Running(r.Hash)
	if _, err := s.Confirm(wire.ConfigConfirmArgs{Hash: r.Hash}); err != nil {
		t.Fatal(err)
	}
}

// The guarantee across restarts: a change the agent stopped or crashed
// with, never confirmed, is rolled back when it starts again, to the last
// confirmed one, and the rollback is reported once.
func TestPendingChangeRolledBackAtStart(t *testing.T) {
	file := setup(t, "enabled = true")
	m := open(t, file)
	_, s := m.Session()
	kept := apply(t, s, "[telemetry]\nbatch_max_records = 7\n", "1m")
	_, s = m.Session()
	if _, err := s.Confirm(wire.ConfigConfirmArgs{Hash: kept.Hash}); err != nil {
		t.Fatal(err)
	}
	lost := apply(t, s, "[telemetry]\nbatch_max_records = 9\nbatch_max_delay = \"3s\"\n", "1h")
	m.Close() // the process ends: a kill, a crash, a power cut, a stop

	m = open(t, file)
	cfg, hash := m.Effective()
	if hash != kept.Hash || cfg.Telemetry.BatchMaxRecords != 7 || cfg.Telemetry.BatchMaxDelay != config.DefaultBatchMaxDelay {
		t.Fatalf("after the restart: hash %s, %d records, delay %s; want the confirmed change %s (7, default delay)", hash, cfg.Telemetry.BatchMaxRecords, cfg.Telemetry.BatchMaxDelay, kept.Hash)
	}
	if pendingOnDisk(t, m) {
		t.Error("still pending on disk after the rollback")
	}
	if st := m.Stats(); st.Rollbacks[wire.RollbackRestart] != 1 {
		t.Errorf("stats %+v, want one rollback at restart", st)
	}
	_, s = m.Session()
	ev, ok := s.Unreported()
	if !ok || ev.Hash != lost.Hash || ev.Reason != wire.RollbackRestart {
		t.Fatalf("unreported %+v %v, want %s %s", ev, ok, lost.Hash, wire.RollbackRestart)
	}
	if st := s.Status(); st.LastRollback == nil || st.LastRollback.Hash != lost.Hash || st.Pending || st.Hash != kept.Hash {
		t.Errorf("status %+v", st)
	}
	s.Reported(ev.Hash)
	m.Close()

	m = open(t, file)
	if _, hash := m.Effective(); hash != kept.Hash {
		t.Errorf("second restart: hash %s, want %s", hash, kept.Hash)
	}
	_, s = m.Session()
	if _, ok := s.Unreported(); ok {
		t.Error("the reported rollback is reported again after a restart")
	}
	if st := m.Stats(); st.Rollbacks[wire.RollbackRestart] != 0 {
		t.Errorf("a second rollback at the second start: %+v", st)
	}
	// Back to the local file alone: the first change rolled back removes
	// the overlay file.
	m.Close()
	m = open(t, setup(t, "enabled = true"))
	_, s = m.Session()
	apply(t, s, "[telemetry]\nbatch_max_records = 9\n", "1m")
	m.Close()
	m = open(t, filepath.Join(m.Dir(), "sioagent.toml"))
	if cfg, _ := m.Effective(); cfg.Telemetry.BatchMaxRecords != 50 {
		t.Errorf("%d records after rolling back the first change, want the local file's 50", cfg.Telemetry.BatchMaxRecords)
	}
	if _, err := os.Stat(filepath.Join(m.Dir(), OverlayFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("overlay file after rolling back to none: %v", err)
	}
}

// A crash between the two writes of an apply (the state says pending, the
// overlay file is the new one or still the old one) or of a rollback (the
// overlay is restored, the state still says pending) is rolled back at
// start all the same.
func TestCrashBetweenWritesRollsBack(t *testing.T) {
	for _, tc := range []struct{ name, overlay string }{
		{"apply: new overlay written", "[telemetry]\nbatch_max_records = 9\n"},
		{"apply: overlay not written yet, or rollback: restored", "[telemetry]\nbatch_max_records = 7\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := setup(t, "enabled = true")
			dir := filepath.Dir(file)
			if err := writeState(dir, state{Pending: true, Hash: "h-new", Previous: "[telemetry]\nbatch_max_records = 7\n"}); err != nil {
				t.Fatal(err)
			}
			if err := writeOverlay(dir, tc.overlay); err != nil {
				t.Fatal(err)
			}
			m := open(t, file)
			if cfg, _ := m.Effective(); cfg.Telemetry.BatchMaxRecords != 7 {
				t.Errorf("%d records in effect, want the previous overlay's 7", cfg.Telemetry.BatchMaxRecords)
			}
			if text, _ := readOverlay(dir); text != "[telemetry]\nbatch_max_records = 7\n" {
				t.Errorf("overlay file %q", text)
			}
		})
	}
}

// Without a confirmation the change is rolled back at its deadline, and
// Changed tells the caller.
func TestDeadlineRollsBack(t *testing.T) {
	m := open(t, setup(t, "enabled = true"))
	_, before := m.Effective()
	_, s := m.Session()
	start := time.Now()
	r := apply(t, s, "[telemetry]\nbatch_max_records = 7\n", MinConfirmWithin.String())
	<-m.Changed() // the apply's
	select {
	case <-m.Changed():
	case <-time.After(MinConfirmWithin + testWait):
		t.Fatal("not rolled back after its deadline")
	}
	took := time.Since(start)
	if took < MinConfirmWithin {
		t.Errorf("rolled back after %s, before its deadline %s", took, MinConfirmWithin)
	}
	t.Logf("rolled back %s after the apply (confirm_within %s)", took.Round(time.Millisecond), MinConfirmWithin)
	if _, hash := m.Effective(); hash != before {
		t.Errorf("hash %s after the rollback, want %s", hash, before)
	}
	if !s.RolledBack() {
		t.Error("the session does not know a rollback happened")
	}
	if ev, ok := s.Unreported(); !ok || ev.Hash != r.Hash || ev.Reason != wire.RollbackDeadline {
		t.Errorf("unreported %+v %v", ev, ok)
	}
	_, err := s.Confirm(wire.ConfigConfirmArgs{Hash: r.Hash})
	wantCode(t, "confirm after the rollback", err, wire.CodeNoPending)
	if st := m.Stats(); st.Rollbacks[wire.RollbackDeadline] != 1 || st.Applies != 1 || st.Confirms != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A change the caller could not apply is rolled back at once.
func TestFailedChangeRollsBack(t *testing.T) {
	m := open(t, setup(t, "enabled = true"))
	_, before := m.Effective()
	_, s := m.Session()
	r := apply(t, s, "[[sensors]]\nname = \"b\"\ndriver = \"sim\"\nsignal = \"sine\"\n", "1m")
	if m.Failed(before, errors.New("not this one")) {
		t.Error("Failed rolled back for another hash")
	}
	if !m.Failed(r.Hash, errors.New("sensor b: no such bus")) {
		t.Fatal("Failed did not roll the pending change back")
	}
	if _, hash := m.Effective(); hash != before || m.Stats().Rollbacks[wire.RollbackFailed] != 1 {
		t.Errorf("hash %s stats %+v", hash, m.Stats())
	}
}

// Errors: each answer's code, and nothing changes.
func TestApplyErrors(t *testing.T) {
	off := open(t, setup(t, "enabled = false"))
	_, s := off.Session()
	_, err := s.Get()
	wantCode(t, "get while disabled", err, wire.CodeNotAllowed)
	_, err = s.Apply(wire.ConfigApplyArgs{TOML: ptr(""), ConfirmWithin: "1m"})
	wantCode(t, "apply while disabled", err, wire.CodeNotAllowed)
	_, err = s.Confirm(wire.ConfigConfirmArgs{Hash: "x"})
	wantCode(t, "confirm while disabled", err, wire.CodeNotAllowed)

	m := open(t, setup(t, "enabled = true\nallow = [\"sensors\", \"telemetry\"]"))
	_, before := m.Effective()
	_, s = m.Session()
	for _, tc := range []struct {
		name string
		args wire.ConfigApplyArgs
		code string
		msg  string
	}{
		{"syntax", wire.ConfigApplyArgs{TOML: ptr("[telemetry\n"), ConfirmWithin: "1m"}, wire.CodeBadConfig, "TOML syntax error"},
		{"value", wire.ConfigApplyArgs{TOML: ptr("[telemetry]\nbatch_max_records = 5000\n"), ConfirmWithin: "1m"}, wire.CodeBadConfig, "telemetry.batch_max_records: 5000 is out of range"},
		{"unknown key", wire.ConfigApplyArgs{TOML: ptr("[telemetry]\nbatch_max_recs = 5\n"), ConfirmWithin: "1m"}, wire.CodeBadConfig, "telemetry.batch_max_recs: unknown key"},
		{"json value", wire.ConfigApplyArgs{JSON: json.RawMessage(`{"telemetry":{"batch_max_delay":"soon"}}`), ConfirmWithin: "1m"}, wire.CodeBadConfig, "telemetry.batch_max_delay"},
		{"json null", wire.ConfigApplyArgs{JSON: json.RawMessage(`{"telemetry":{"batch_max_delay":null}}`), ConfirmWithin: "1m"}, wire.CodeBadConfig, "telemetry.batch_max_delay: null"},
		{"outbox not allowed", wire.ConfigApplyArgs{TOML: ptr("[outbox]\nmax_records = 5\n"), ConfirmWithin: "1m"}, wire.CodeNotAllowed, "outbox: not in [remote_config] allow"},
		{"server not allowed", wire.ConfigApplyArgs{TOML: ptr("[server]\nurl = \"http://x\"\n"), ConfirmWithin: "1m"}, wire.CodeNotAllowed, "allow_server"},
		{"device", wire.ConfigApplyArgs{TOML: ptr("[device]\nid = \"x\"\n"), ConfirmWithin: "1m"}, wire.CodeNotAllowed, "never set remotely"},
		{"no change", wire.ConfigApplyArgs{ConfirmWithin: "1m"}, wire.CodeBadArgs, "exactly one"},
		{"both", wire.ConfigApplyArgs{TOML: ptr(""), JSON: json.RawMessage(`{}`), ConfirmWithin: "1m"}, wire.CodeBadArgs, "exactly one"},
		{"no confirm_within", wire.ConfigApplyArgs{TOML: ptr("")}, wire.CodeBadArgs, "required"},
		{"confirm_within short", wire.ConfigApplyArgs{TOML: ptr(""), ConfirmWithin: "1s"}, wire.CodeBadArgs, "out of range"},
		{"confirm_within long", wire.ConfigApplyArgs{TOML: ptr(""), ConfirmWithin: "2h"}, wire.CodeBadArgs, "out of range"},
		{"confirm_within bad", wire.ConfigApplyArgs{TOML: ptr(""), ConfirmWithin: "soon"}, wire.CodeBadArgs, "confirm_within"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Apply(tc.args)
			wantCode(t, tc.name, err, tc.code)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("message %q does not say %q", err, tc.msg)
			}
		})
	}
	if _, hash := m.Effective(); hash != before || m.Stats().Applies != 0 {
		t.Errorf("a refused change changed the configuration: %s, %+v", hash, m.Stats())
	}
	if _, err := os.Stat(filepath.Join(m.Dir(), StateFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused change wrote the state: %v", err)
	}
	_, err = s.Confirm(wire.ConfigConfirmArgs{Hash: strings.Repeat("1", 64)})
	wantCode(t, "confirm with nothing pending", err, wire.CodeNoPending)
	_, err = s.Confirm(wire.ConfigConfirmArgs{})
	wantCode(t, "confirm without a hash", err, wire.CodeBadArgs)
	apply(t, s, "[telemetry]\nbatch_max_records = 7\n", "1m")
	_, err = s.Apply(wire.ConfigApplyArgs{TOML: ptr("[telemetry]\nbatch_max_records = 8\n"), ConfirmWithin: "1m"})
	wantCode(t, "apply while pending", err, wire.CodePending)
}

// config:get shows the configuration in effect without its secrets.
func TestGetRedacts(t *testing.T) {
	m := open(t, setup(t, "enabled = true"))
	_, s := m.Session()
	g, err := s.Get()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(g.Config), "/etc/sioagent/token") || !strings.Contains(string(g.Config), `"token_file":"(redacted)"`) || g.Pending {
		t.Errorf("get %s", g.Config)
	}
	if _, hash := m.Effective(); hash != g.Hash {
		t.Errorf("get's hash %s, in effect %s", g.Hash, hash)
	}
}

// A stored change the local file no longer allows is left aside at start:
// the local file alone is in effect, and the status says why.
func TestStoredChangeNoLongerAllowed(t *testing.T) {
	file := setup(t, "enabled = true")
	m := open(t, file)
	_, s := m.Session()
	r := apply(t, s, "[telemetry]\nbatch_max_records = 7\n", "1m")
	_, s = m.Session()
	if _, err := s.Confirm(wire.ConfigConfirmArgs{Hash: r.Hash}); err != nil {
		t.Fatal(err)
	}
	m.Close()
	text, _ := os.ReadFile(file)
	if err := os.WriteFile(file, []byte(strings.Replace(string(text), "enabled = true", "enabled = true\nallow = [\"sensors\"]", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	m = open(t, file)
	cfg, _ := m.Effective()
	_, s = m.Session()
	if st := s.Status(); cfg.Telemetry.BatchMaxRecords != 50 || !strings.Contains(st.OverlayError, "telemetry: not in [remote_config] allow") {
		t.Errorf("%d records, status %+v", cfg.Telemetry.BatchMaxRecords, st)
	}
}

// A change adds to the remote changes in effect; with replace it replaces
// them, and an empty one goes back to the local file alone.
func TestChangesAddUpUnlessReplace(t *testing.T) {
	m := open(t, setup(t, "enabled = true"))
	_, base := m.Effective()
	confirmNext := func(r wire.ConfigApplyResult) {
		t.Helper()
		_, s := m.Session()
		if _, err := s.Confirm(wire.ConfigConfirmArgs{Hash: r.Hash}); err != nil {
			t.Fatal(err)
		}
	}
	_, s := m.Session()
	confirmNext(apply(t, s, "[telemetry]\nbatch_max_records = 7\n", "1m"))
	_, s = m.Session()
	r := apply(t, s, "[telemetry]\nbatch_max_delay = \"3s\"\n[[sensors]]\nname = \"b\"\ndriver = \"sim\"\nsignal = \"sine\"\n", "1m")
	confirmNext(r)
	cfg, _ := m.Effective()
	if cfg.Telemetry.BatchMaxRecords != 7 || cfg.Telemetry.BatchMaxDelay != 3*time.Second || len(cfg.Sensors) != 1 || cfg.Sensors[0].Name != "b" {
		t.Errorf("after two changes: %+v, sensors %+v", cfg.Telemetry, cfg.Sensors)
	}
	_, s = m.Session()
	r, err := s.Apply(wire.ConfigApplyArgs{TOML: ptr("[telemetry]\nbatch_max_delay = \"4s\"\n"), ConfirmWithin: "1m", Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	confirmNext(r)
	if cfg, _ := m.Effective(); cfg.Telemetry.BatchMaxRecords != 50 || cfg.Telemetry.BatchMaxDelay != 4*time.Second || cfg.Sensors[0].Name != "a" {
		t.Errorf("after a replacing change: %+v, sensors %+v", cfg.Telemetry, cfg.Sensors)
	}
	_, s = m.Session()
	r, err = s.Apply(wire.ConfigApplyArgs{TOML: ptr(""), ConfirmWithin: "1m", Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Hash != base {
		t.Errorf("an empty replacing change: hash %s, want the local file's %s", r.Hash, base)
	}
}

// With allow_server, a change may move the agent to another server, but
// not from TLS to a server without it: the token and the readings would
// go in the clear.
func TestServerChangeKeepsTLS(t *testing.T) {
	file := setup(t, "enabled = true\nallow_server = true")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(b), `url = "http://127.0.0.1:1"`, `url = "https://iot.example.com"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	m := open(t, file)
	_, s := m.Session()
	var ce *wire.CommandError
	for _, u := range []string{"http://iot.example.com", "ws://other.example.com"} {
		_, err := s.Apply(wire.ConfigApplyArgs{TOML: ptr("[server]\nurl = \"" + u + "\"\n"), ConfirmWithin: "1m"})
		if !errors.As(err, &ce) || ce.Code != wire.CodeNotAllowed || !strings.Contains(ce.Message, "server.url") {
			t.Errorf("a move to %s: %v, want not_allowed naming server.url", u, err)
		}
	}
	apply(t, s, "[server]\nurl = \"wss://other.example.com\"\n", "1m")
}
