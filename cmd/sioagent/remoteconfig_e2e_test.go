package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/remoteconfig"
	"github.com/sioagent/sioagent/wire"
)

// The remote configuration end to end: the real agent binary, the Node
// server's command API, the overlay in the agent's state directory.

// remoteEnabled is the [remote_config] of these tests.
const remoteEnabled = "\n[remote_config]\nenabled = true\nallow_server = true\n"

// deviceSocket returns the id of device's socket on the server, "" while it
// is not connected.
func deviceSocket(t *testing.T, url, device string) string {
	t.Helper()
	resp, err := http.Get(url + "/api/devices")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []struct {
		DeviceID string `json:"deviceId"`
		SocketID string `json:"socketId"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	for _, d := range list {
		if d.DeviceID == device {
			return d.SocketID
		}
	}
	return ""
}

// waitSocket waits until device is connected with a socket other than
// not, and returns it and when the test saw it.
func waitSocket(t *testing.T, url, device, not string, timeout time.Duration) (string, time.Time) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if id := deviceSocket(t, url, device); id != "" && id != not {
			return id, time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not connected again within %s", device, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// result returns the "result" object of an ok ack, failing otherwise.
func result(t *testing.T, name string, r commandReply) map[string]any {
	t.Helper()
	if code := ackError(t, name, r); code != "" {
		t.Fatalf("%s: error ack %v", name, r.Ack)
	}
	res, _ := r.Ack["result"].(map[string]any)
	return res
}

// configHash asks the agent for the hash of its configuration in effect.
func configHash(t *testing.T, url, device string) string {
	t.Helper()
	_, r := sendCommand(t, url, device, wire.ConfigGet.Name(), nil)
	return result(t, wire.ConfigGet.Name(), r)["hash"].(string)
}

// confirm sends config:confirm until the agent's session that runs the
// change answers ok (the device may be between connections, or the
// command may reach the old one).
func confirm(t *testing.T, url, device, hash string) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		code, r := sendCommand(t, url, device, wire.ConfigConfirm.Name(), map[string]any{"hash": hash})
		if code == 200 && r.Ack["ok"] == true {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("config:confirm %s: HTTP %d %+v", hash, code, r)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// remoteStatus is the remoteConfig member of the agent's status.
func remoteStatus(t *testing.T, runDir string) map[string]any {
	t.Helper()
	rc, _ := agentStatus(t, runDir)["remoteConfig"].(map[string]any)
	if rc == nil {
		t.Fatal("the status has no remoteConfig member")
	}
	return rc
}

// rollbacks asks the example server for the config:rolledback reports of
// device.
func rollbacks(t *testing.T, url, device string) []wire.ConfigRolledBackEvent {
	t.Helper()
	c, err := socketio.New(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s := c.Socket("/", nil)
	if err := s.Connect(ctx); err != nil {
		t.Fatalf("observer: %v", err)
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

// waitRollback waits until the server heard of a rollback of device and
// returns the reports and when the test saw them.
func waitRollback(t *testing.T, url, device string, timeout time.Duration) ([]wire.ConfigRolledBackEvent, time.Time) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if r := rollbacks(t, url, device); len(r) > 0 {
			return r, time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("no config:rolledback from %s within %s", device, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A change of [telemetry] is applied by reconnecting, confirmed through
// the new connection, and kept; a change of the sensors (sent as JSON)
// without reconnecting. A change that does not validate, or that sets
// what the local file does not allow, is refused naming the key, and
// changes nothing.
func TestRemoteConfigApplyAndConfirm(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	dir := t.TempDir()
	url, dev := srv.URL(), "e2e-rc"
	cfg := agentConfig{dir: dir, url: url, device: dev, interval: "100ms", extra: remoteEnabled}.write(t)
	p := startAgent(t, cfg)
	p.waitNotify("READY=1", testTimeout)
	first, _ := waitSocket(t, url, dev, "", testTimeout)
	runDir := filepath.Join(dir, "run")

	_, r := sendCommand(t, url, dev, wire.ConfigGet.Name(), nil)
	got := result(t, "config:get", r)
	before := got["hash"].(string)
	conf, _ := got["config"].(map[string]any)
	server, _ := conf["server"].(map[string]any)
	if len(before) != 64 || conf["device"].(map[string]any)["id"] != dev || server["token_file"] != "(redacted)" || got["pending"] != false {
		t.Fatalf("config:get %v", got)
	}

	// Refused changes: the ack names the key; nothing changes.
	for _, c := range []struct {
		name string
		args map[string]any
		code string
		say  string
	}{
		{"bad value", map[string]any{"toml": "[telemetry]\nbatch_max_records = 0\n", "confirm_within": "30s"}, wire.CodeBadConfig, "telemetry.batch_max_records"},
		{"bad TOML", map[string]any{"toml": "[telemetry\nbatch_max_records = 2\n", "confirm_within": "30s"}, wire.CodeBadConfig, "TOML syntax error"},
		{"unknown key", map[string]any{"toml": "[[sensors]]\nname = \"x\"\ndriver = \"sim\"\nsignall = \"sine\"\n", "confirm_within": "30s"}, wire.CodeBadConfig, `sensors."x".signall`},
		{"token", map[string]any{"toml": "[server]\ntoken_file = \"/tmp/other\"\n", "confirm_within": "30s"}, wire.CodeNotAllowed, "server.token_file"},
		{"device", map[string]any{"json": map[string]any{"device": map[string]any{"id": "other"}}, "confirm_within": "30s"}, wire.CodeNotAllowed, "device"},
		{"outbox path", map[string]any{"toml": "[outbox]\npath = \"/tmp/o.db\"\n", "confirm_within": "30s"}, wire.CodeNotAllowed, "outbox.path"},
		{"confirm_within", map[string]any{"toml": "", "confirm_within": "2h"}, wire.CodeBadArgs, "confirm_within"},
	} {
		_, r := sendCommand(t, url, dev, wire.ConfigApply.Name(), c.args)
		e, _ := r.Ack["error"].(map[string]any)
		if code := ackError(t, c.name, r); code != c.code || !strings.Contains(e["message"].(string), c.say) {
			t.Errorf("%s: ack %v, want %s naming %s", c.name, r.Ack, c.code, c.say)
		}
	}
	if h := configHash(t, url, dev); h != before {
		t.Fatalf("a refused change changed the configuration: hash %s, was %s", h, before)
	}
	if _, err := os.Stat(filepath.Join(dir, remoteconfig.StateFileName)); !os.IsNotExist(err) {
		t.Errorf("a refused change wrote the state file: %v", err)
	}

	// [telemetry]: a new connection, confirmed through it.
	_, r = sendCommand(t, url, dev, wire.ConfigApply.Name(), map[string]any{"id": "apply-1", "toml": "[telemetry]\nbatch_max_records = 2\n", "confirm_within": "30s"})
	applied := result(t, "config:apply", r)
	hash := applied["hash"].(string)
	if applied["pending"] != true || applied["reconnect"] != true || hash == before {
		t.Fatalf("config:apply %v", applied)
	}
	second, _ := waitSocket(t, url, dev, first, testTimeout)
	confirm(t, url, dev, hash)
	rc := remoteStatus(t, runDir)
	if rc["pending"] != false || rc["hash"] != hash || rc["applies"] != float64(1) || rc["confirms"] != float64(1) {
		t.Errorf("status after the confirmation: %v", rc)
	}
	if text, err := os.ReadFile(filepath.Join(dir, remoteconfig.OverlayFileName)); err != nil || !strings.Contains(string(text), "batch_max_records = 2") {
		t.Errorf("overlay file %q %v", text, err)
	}

	// [[sensors]] as JSON: no new connection, confirmed at once.
	_, r = sendCommand(t, url, dev, wire.ConfigApply.Name(), map[string]any{"confirm_within": "30s", "json": map[string]any{"sensors": []any{
		map[string]any{"name": "counter", "driver": "sim", "signal": "counter", "interval": "100ms", "timeout": "50ms"},
		map[string]any{"name": "added", "driver": "sim", "signal": "constant", "offset": 42, "interval": "100ms"},
	}}})
	applied = result(t, "config:apply", r)
	if applied["reconnect"] != false {
		t.Errorf("a sensors change reconnects: %v", applied)
	}
	confirm(t, url, dev, applied["hash"].(string)) // once the sensors are reloaded
	waitTelemetry(t, url, dev, testTimeout, func(telemetryStats) bool {
		_, names, _ := telemetryRecords(t, url, dev)
		return slicesContains(names, dev+":added/value")
	})
	if id := deviceSocket(t, url, dev); id != second {
		t.Errorf("the sensors change reconnected: socket %s, was %s", id, second)
	}
	if code, _ := p.stop(syscall.SIGTERM, 10*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	// Kept across a restart.
	p = startAgent(t, cfg)
	p.waitNotify("READY=1", testTimeout)
	waitSocket(t, url, dev, "", testTimeout)
	if h := configHash(t, url, dev); h != applied["hash"] {
		t.Errorf("after a restart the hash is %s, want the confirmed %s", h, applied["hash"])
	}
	if r := rollbacks(t, url, dev); len(r) != 0 {
		t.Errorf("rollbacks %v after confirmed changes", r)
	}
}

// A server URL the agent cannot connect to: the change is applied (the
// agent leaves the server), no confirmation comes, and at the deadline the
// agent rolls back, is back online with the previous settings, and reports
// the rollback.
func TestRemoteConfigUnreachableServerRolledBack(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	dir := t.TempDir()
	url, dev := srv.URL(), "e2e-rc-url"
	cfg := agentConfig{dir: dir, url: url, device: dev, interval: "100ms", extra: remoteEnabled}.write(t)
	p := startAgent(t, cfg)
	p.waitNotify("READY=1", testTimeout)
	first, _ := waitSocket(t, url, dev, "", testTimeout)
	before := configHash(t, url, dev)
	within := remoteconfig.MinConfirmWithin

	_, r := sendCommand(t, url, dev, wire.ConfigApply.Name(), map[string]any{"toml": "[server]\nurl = \"http://127.0.0.1:1\"\n", "confirm_within": within.String()})
	applied := time.Now()
	res := result(t, "config:apply", r)
	if res["reconnect"] != true {
		t.Fatalf("config:apply %v", res)
	}
	deadline := applied.Add(within) // the agent's is a few ms earlier
	_, back := waitSocket(t, url, dev, first, within+testTimeout)
	reports, heard := waitRollback(t, url, dev, testTimeout)
	t.Logf("back online %s after the deadline, rollback reported %s after it (confirm_within %s)",
		back.Sub(deadline).Round(time.Millisecond), heard.Sub(deadline).Round(time.Millisecond), within)
	if back.Before(deadline.Add(-500 * time.Millisecond)) {
		t.Errorf("back online %s before the deadline: rolled back early", deadline.Sub(back))
	}
	if len(reports) != 1 || reports[0].Hash != res["hash"] || reports[0].Reason != wire.RollbackDeadline {
		t.Errorf("reports %+v, want one for %s, reason %s", reports, res["hash"], wire.RollbackDeadline)
	}
	if h := configHash(t, url, dev); h != before {
		t.Errorf("hash %s after the rollback, want %s", h, before)
	}
	rc := remoteStatus(t, filepath.Join(dir, "run"))
	last, _ := rc["lastRollback"].(map[string]any)
	if rc["pending"] != false || last["reason"] != wire.RollbackDeadline || last["reported"] != true || rc["rollbacks"].(map[string]any)[wire.RollbackDeadline] != float64(1) {
		t.Errorf("status after the rollback: %v", rc)
	}
	if !strings.Contains(p.log(), "remote configuration change rolled back") {
		t.Error("the rollback is not in the log")
	}
	waitTelemetry(t, url, dev, testTimeout, func(s telemetryStats) bool { return len(s.Runs) == 1 && s.Stored >= 3 })
	if code, _ := p.stop(syscall.SIGTERM, 10*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// SIGKILL while a change is pending: the agent starts with the previous
// configuration, and reports the rollback.
func TestRemoteConfigKilledWhilePendingRolledBackAtStart(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	dir := t.TempDir()
	url, dev := srv.URL(), "e2e-rc-kill"
	cfg := agentConfig{dir: dir, url: url, device: dev, interval: "100ms", extra: remoteEnabled}.write(t)
	p := startAgent(t, cfg)
	p.waitNotify("READY=1", testTimeout)
	waitSocket(t, url, dev, "", testTimeout)
	runDir := filepath.Join(dir, "run")
	before := configHash(t, url, dev)
	_, r := sendCommand(t, url, dev, wire.ConfigApply.Name(), map[string]any{"confirm_within": "1h",
		"toml": "[[sensors]]\nname = \"counter\"\ndriver = \"sim\"\nsignal = \"counter\"\ninterval = \"100ms\"\n[[sensors]]\nname = \"added\"\ndriver = \"sim\"\nsignal = \"constant\"\ninterval = \"100ms\"\n"})
	res := result(t, "config:apply", r)
	waitStatus(t, runDir, testTimeout, func(m map[string]any) bool { ss, _ := m["sensors"].([]any); return len(ss) == 2 })
	p.cmd.Process.Kill()
	<-p.done

	p = startAgent(t, cfg)
	p.waitNotify("READY=1", testTimeout)
	reports, _ := waitRollback(t, url, dev, testTimeout)
	if len(reports) != 1 || reports[0].Hash != res["hash"] || reports[0].Reason != wire.RollbackRestart {
		t.Errorf("reports %+v, want one for %s, reason %s", reports, res["hash"], wire.RollbackRestart)
	}
	if h := configHash(t, url, dev); h != before {
		t.Errorf("hash %s after the restart, want the one before the change, %s", h, before)
	}
	m := agentStatus(t, runDir)
	if ss, _ := m["sensors"].([]any); len(ss) != 1 {
		t.Errorf("%d sensors after the rollback, want 1", len(ss))
	}
	last, _ := m["remoteConfig"].(map[string]any)["lastRollback"].(map[string]any)
	if last["reason"] != wire.RollbackRestart || last["hash"] != res["hash"] {
		t.Errorf("last rollback %v", last)
	}
	if _, out, _ := runCmd(t, "status", "--runtime-dir", runDir); !strings.Contains(out, "last rollback: "+res["hash"].(string)[:12]+" (restart)") || !strings.Contains(out, "1 restart") {
		t.Errorf("sioagent status does not show the rollback:\n%s", out)
	}
	if !strings.Contains(p.log(), "still pending when the agent started") {
		t.Error("the rollback at start is not in the log")
	}
	if code, _ := p.stop(syscall.SIGTERM, 10*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
