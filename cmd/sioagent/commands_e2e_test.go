package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/wire"
)

// commandReply is the example server's answer to POST .../commands.
type commandReply struct {
	ID     any            `json:"id"`
	Ack    map[string]any `json:"ack"`
	Binary []string       `json:"binary"`
	SenML  []struct {
		N string  `json:"n"`
		U string  `json:"u"`
		V float64 `json:"v"`
		T float64 `json:"t"`
	} `json:"senml"`
	Error map[string]any `json:"error"`
}

// sendCommand sends a command to device through the example server's API.
func sendCommand(t *testing.T, url, device, name string, args any) (int, commandReply) {
	t.Helper()
	if args == nil {
		args = map[string]any{}
	}
	body, _ := json.Marshal(map[string]any{"name": name, "args": args, "timeoutMs": 5000})
	req, _ := http.NewRequest(http.MethodPost, url+"/api/devices/"+device+"/commands", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer resp.Body.Close()
	var r commandReply
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("%s: answer %q: %v", name, raw, err)
	}
	return resp.StatusCode, r
}

// ackError returns the error code of a failed command's ack ("" if ok).
func ackError(t *testing.T, name string, r commandReply) string {
	t.Helper()
	if r.Ack["ok"] == true {
		return ""
	}
	e, _ := r.Ack["error"].(map[string]any)
	code, _ := e["code"].(string)
	if code == "" {
		t.Fatalf("%s: ack %v has neither ok nor an error code", name, r.Ack)
	}
	return code
}

// telemetryRecords fetches the decoded records the server stored for device.
func telemetryRecords(t *testing.T, url, device string) (seqs []uint64, names []string, values []float64) {
	t.Helper()
	resp, err := http.Get(url + "/api/devices/" + device + "/telemetry")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Seqs   []uint64 `json:"seqs"`
		Recent []struct {
			Seq uint64  `json:"seq"`
			N   string  `json:"n"`
			V   float64 `json:"v"`
			T   float64 `json:"t"`
		} `json:"recent"`
		DecodeErrors int `json:"decodeErrors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.DecodeErrors != 0 {
		t.Errorf("server could not decode %d batches as SenML", body.DecodeErrors)
	}
	for _, r := range body.Recent {
		names = append(names, r.N)
		values = append(values, r.V)
	}
	return body.Seqs, names, values
}

// Readings arrive decoded and in order, and every built-in command
// answers through the real server, including error acks and the binary ack
// of sensor:read.
func TestAgentTelemetryAndCommands(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	dir := t.TempDir()
	cfg := agentConfig{dir: dir, url: srv.URL(), device: "e2e-cmd", interval: "100ms", extra: `
[[sensors]]
name = "temp"
driver = "sim"
signal = "sine"
quantity = "temperature"
unit = "Cel"
offset = 20
amplitude = 5
interval = "1h"
`}.write(t)
	p := startAgent(t, cfg)
	p.waitNotify("READY=1", testTimeout)
	waitTelemetry(t, srv.URL(), "e2e-cmd", testTimeout, func(s telemetryStats) bool { return s.Records >= 15 })

	seqs, names, values := telemetryRecords(t, srv.URL(), "e2e-cmd")
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("seqs %v have a gap", seqs)
		}
	}
	var counter []float64
	for i, n := range names {
		if n == "e2e-cmd:counter/value" {
			counter = append(counter, values[i])
		}
	}
	if len(counter) < 10 {
		t.Fatalf("only %d counter readings decoded (names %v)", len(counter), names)
	}
	for i, v := range counter {
		if v != float64(i+1) {
			t.Fatalf("counter readings %v: want 1, 2, 3, ... in order", counter)
		}
	}

	url, dev := srv.URL(), "e2e-cmd"
	if code, r := sendCommand(t, url, dev, wire.Ping.Name(), nil); code != 200 || ackError(t, "ping", r) != "" || r.Ack["result"].(map[string]any)["pong"] != true {
		t.Errorf("agent:ping: %d %+v", code, r)
	}
	code, r := sendCommand(t, url, dev, wire.SensorRead.Name(), map[string]any{"sensor": "temp"})
	if code != 200 || ackError(t, wire.SensorRead.Name(), r) != "" || len(r.Binary) != 1 || len(r.SenML) != 1 {
		t.Fatalf("sensor:read: %d %+v", code, r)
	}
	if got := r.SenML[0]; got.N != "e2e-cmd:temp/temperature" || got.U != "Cel" || got.V < 15 || got.V > 25 {
		t.Errorf("sensor:read SenML record %+v", got)
	}
	_, r = sendCommand(t, url, dev, wire.Status.Name(), nil)
	if ackError(t, "status", r) != "" || r.Ack["result"].(map[string]any)["deviceId"] != dev {
		t.Errorf("agent:status: %+v", r)
	}
	_, r = sendCommand(t, url, dev, wire.QueueStats.Name(), nil)
	if ackError(t, "queue", r) != "" || r.Ack["result"].(map[string]any)["acked"].(float64) < 1 {
		t.Errorf("queue:stats: %+v", r)
	}
	_, r = sendCommand(t, url, dev, wire.SamplingSet.Name(), map[string]any{"sensor": "counter", "interval": "250ms"})
	if ackError(t, wire.SamplingSet.Name(), r) != "" || r.Ack["result"].(map[string]any)["interval"] != "250ms" {
		t.Errorf("sampling:set: %+v", r)
	}
	errorCases := []struct {
		name string
		args any
		want string
	}{
		{"no:such-command", nil, wire.CodeUnknownCommand},
		{wire.SensorRead.Name(), map[string]any{"sensor": "nope"}, wire.CodeNotFound},
		{wire.SensorRead.Name(), map[string]any{}, wire.CodeBadArgs},
		{wire.SensorRead.Name(), map[string]any{"sensor": "temp", "extra": 1}, wire.CodeBadArgs},
		{wire.SensorRead.Name(), map[string]any{"sensor": 42}, wire.CodeBadArgs},
		{wire.SamplingSet.Name(), map[string]any{"sensor": "counter", "interval": "1ns"}, wire.CodeBadArgs},
		{wire.SamplingSet.Name(), map[string]any{"sensor": "counter", "interval": "soon"}, wire.CodeBadArgs},
		{wire.GPIOWrite.Name(), map[string]any{"pin": "GPIO27", "value": true}, wire.CodeNotAllowed},
		{wire.GPIOWrite.Name(), map[string]any{"pin": "GPIO27"}, wire.CodeBadArgs},
		{wire.GPIORead.Name(), map[string]any{"pin": "GPIO4"}, wire.CodeNotAllowed},
		{wire.Ping.Name(), map[string]any{"id": 7}, wire.CodeBadArgs},
	}
	for _, c := range errorCases {
		code, r := sendCommand(t, url, dev, c.name, c.args)
		if code != 200 {
			t.Errorf("%s %v: HTTP %d %+v", c.name, c.args, code, r)
			continue
		}
		if got := ackError(t, c.name, r); got != c.want {
			t.Errorf("%s %v: error %q, want %q (ack %v)", c.name, c.args, got, c.want, r.Ack)
		}
	}
	// A repeated id is answered from memory: the sine advances on every
	// read, so a second run would give another value.
	_, first := sendCommand(t, url, dev, wire.SensorRead.Name(), map[string]any{"id": "same-1", "sensor": "temp"})
	_, again := sendCommand(t, url, dev, wire.SensorRead.Name(), map[string]any{"id": "same-1", "sensor": "temp"})
	_, other := sendCommand(t, url, dev, wire.SensorRead.Name(), map[string]any{"id": "same-2", "sensor": "temp"})
	if len(first.SenML) != 1 || len(again.SenML) != 1 || len(other.SenML) != 1 {
		t.Fatalf("sensor:read with ids: %+v %+v %+v", first, again, other)
	}
	if first.SenML[0].V != again.SenML[0].V || first.Binary[0] != again.Binary[0] {
		t.Errorf("a repeated id ran again: %v then %v", first.SenML[0], again.SenML[0])
	}
	if other.SenML[0].V == first.SenML[0].V {
		t.Errorf("a new id was answered from memory: %v", other.SenML[0])
	}
	if code, _ := p.stop(syscall.SIGTERM, 10*time.Second); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// A server that sends garbage: the agent drops that connection, connects
// again, and the telemetry seqs stay gap-free with nothing lost.
func TestAgentSurvivesGarbageFromServer(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	dir := t.TempDir()
	cfg := agentConfig{dir: dir, url: srv.URL(), device: "e2e-garbage", interval: "50ms"}.write(t)
	p := startAgent(t, cfg)
	p.waitNotify("READY=1", testTimeout)
	waitTelemetry(t, srv.URL(), "e2e-garbage", testTimeout, func(s telemetryStats) bool { return s.Stored >= 2 })
	connects := func(m map[string]any) float64 {
		conn, _ := m["connection"].(map[string]any)
		if conn["connected"] != true {
			return 0
		}
		return conn["connects"].(float64)
	}
	for i, garbage := range []string{"2abc", "4{not json", "x", "451-[\"a\""} {
		body, _ := json.Marshal(map[string]string{"data": garbage})
		deadline := time.Now().Add(testTimeout)
		for {
			resp, err := http.Post(srv.URL()+"/api/devices/e2e-garbage/raw", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
			if resp.StatusCode != 404 || time.Now().After(deadline) {
				t.Fatalf("raw %q: HTTP %d", garbage, resp.StatusCode)
			}
			time.Sleep(50 * time.Millisecond) // the device is between connections
		}
		// Wait until the agent is back on a new connection.
		waitStatus(t, filepath.Join(dir, "run"), testTimeout, func(m map[string]any) bool { return connects(m) >= float64(i+2) })
	}
	m := waitStatus(t, filepath.Join(dir, "run"), testTimeout, func(m map[string]any) bool { return connects(m) >= 5 })
	waitTelemetry(t, srv.URL(), "e2e-garbage", testTimeout, func(s telemetryStats) bool { return s.Stored >= 10 })
	if code, _ := p.stop(syscall.SIGTERM, 10*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	st := askTelemetry(t, srv.URL(), "e2e-garbage")
	if len(st.Runs) != 1 || st.Runs[0][0] != 1 {
		t.Fatalf("seqs %v after garbage: want one run from 1", st.Runs)
	}
	if !strings.Contains(p.log(), "parse error") && !strings.Contains(p.log(), "invalid") {
		t.Errorf("the agent log does not say why it dropped the connection")
	}
	t.Logf("connects after 4 garbage messages: %v", m["connection"].(map[string]any)["connects"])
}

// SIGHUP reloads the sensors from the edited config without dropping the
// connection; a config that no longer loads is refused and the agent keeps
// running.
func TestAgentReloadsOnSIGHUP(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	dir := t.TempDir()
	ac := agentConfig{dir: dir, url: srv.URL(), device: "e2e-hup", interval: "100ms"}
	cfg := ac.write(t)
	p := startAgent(t, cfg)
	p.waitNotify("READY=1", testTimeout)
	runDir := filepath.Join(dir, "run")
	waitStatus(t, runDir, testTimeout, func(m map[string]any) bool {
		conn, _ := m["connection"].(map[string]any)
		return conn["connected"] == true
	})
	ac.extra = `
[[sensors]]
name = "added"
driver = "sim"
signal = "constant"
offset = 42
interval = "100ms"
`
	ac.write(t)
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitStatus(t, runDir, testTimeout, func(m map[string]any) bool {
		ss, _ := m["sensors"].([]any)
		return len(ss) == 2
	})
	_, names, _ := telemetryRecords(t, srv.URL(), "e2e-hup")
	waitTelemetry(t, srv.URL(), "e2e-hup", testTimeout, func(telemetryStats) bool {
		_, names, _ = telemetryRecords(t, srv.URL(), "e2e-hup")
		return slicesContains(names, "e2e-hup:added/value")
	})
	// A broken edit is refused; the two sensors keep running.
	os.WriteFile(cfg, []byte("[device\n"), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(testTimeout)
	for !strings.Contains(p.log(), "reload refused") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	m := agentStatus(t, runDir)
	if ss, _ := m["sensors"].([]any); len(ss) != 2 {
		t.Errorf("after a broken reload: %d sensors, want 2", len(ss))
	}
	conn := m["connection"].(map[string]any)
	if conn["connects"] != float64(1) {
		t.Errorf("reloads dropped the connection: %v connects", conn["connects"])
	}
	if !strings.Contains(p.log(), "reload refused") {
		t.Errorf("the broken reload was not logged")
	}
	if code, _ := p.stop(syscall.SIGTERM, 10*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// sioagent check reads every sensor once, prints a table, and fails naming
// each sensor that failed.
func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	ok := agentConfig{dir: dir, url: "http://127.0.0.1:1", device: "check", interval: "1s"}.write(t)
	code, out, errOut := runCmd(t, "check", "--config", ok)
	if code != exitOK {
		t.Fatalf("check: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "counter") || !strings.Contains(out, "value") || !strings.Contains(out, "1 sensors ok") {
		t.Errorf("check output:\n%s", out)
	}
	bad := agentConfig{dir: dir, url: "http://127.0.0.1:1", device: "check", interval: "1s", extra: `
[[sensors]]
name = "flaky"
driver = "sim"
signal = "counter"
fail_every = 1
[[sensors]]
name = "cellar"
driver = "ds18b20"
device = "28-0000000000aa"
w1_dir = "` + filepath.Join(dir, "no-w1") + `"
[[sensors]]
name = "greenhouse"
driver = "bme280"
`}.write(t)
	code, out, errOut = runCmd(t, "check", "--config", bad)
	if code != exitError {
		t.Fatalf("check with failing sensors: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"flaky", "cellar", "greenhouse", "3 of 4 sensors failed"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not name %q:\n%s", want, errOut)
		}
	}
}
