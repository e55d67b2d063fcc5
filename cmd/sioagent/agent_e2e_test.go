package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/store"
)

// notifyDrain is how long waitNotify still reads notifications after the
// agent exited.
const notifyDrain = 500 * time.Millisecond

// agentProc is a `sioagent run` process: the test binary acting as main.
type agentProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	notify chan string // sd_notify messages, one per datagram
	done   chan struct{}
	err    error // of Wait, valid after done
	mu     sync.Mutex
	stderr bytes.Buffer
}

// lockedWriter writes to the test log and keeps a copy.
type lockedWriter struct{ p *agentProc }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	w.p.stderr.Write(b)
	return len(b), nil
}

func (p *agentProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// startAgent runs `sioagent run --config cfg` with NOTIFY_SOCKET pointed at
// a datagram socket of the test and a 400 ms watchdog.
func startAgent(t *testing.T, cfg string) *agentProc {
	t.Helper()
	dir := t.TempDir()
	sockPath := filepath.Join(dir, "notify.sock")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	p := &agentProc{t: t, notify: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ln.Read(buf)
			if err != nil {
				close(p.notify)
				return
			}
			for _, line := range strings.Split(string(buf[:n]), "\n") {
				select {
				case p.notify <- line:
				default:
				}
			}
		}
	}()
	p.cmd = exec.Command(os.Args[0], "run", "--config", cfg)
	p.cmd.Env = append(os.Environ(), envBeMain+"=1", "NOTIFY_SOCKET="+sockPath, "WATCHDOG_USEC=400000")
	p.cmd.Stderr = lockedWriter{p}
	if err := p.cmd.Start(); err != nil {
		ln.Close()
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		ln.Close()
		if t.Failed() {
			t.Logf("agent log:\n%s", p.log())
		}
	})
	return p
}

// waitNotify waits for a notification line starting with prefix.
func (p *agentProc) waitNotify(prefix string, timeout time.Duration) string {
	p.t.Helper()
	deadline := time.After(timeout)
	done := p.done
	for {
		select {
		case line, ok := <-p.notify:
			if !ok {
				p.t.Fatalf("notify socket closed before %q", prefix)
			}
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-deadline:
			p.t.Fatalf("no %q notification within %s", prefix, timeout)
		case <-done:
			// Datagrams sent before the exit may still be on their way
			// to the reader.
			done = nil
			deadline = time.After(notifyDrain)
		}
	}
}

// stop sends sig and waits for the exit code.
func (p *agentProc) stop(sig syscall.Signal, timeout time.Duration) (int, time.Duration) {
	p.t.Helper()
	start := time.Now()
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("agent still running %s after %v", timeout, sig)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode(), time.Since(start)
	}
	return 0, time.Since(start)
}

// agentConfig is the TOML of a test agent: a sim counter every interval.
type agentConfig struct {
	dir, url, device, interval string
	batchDelay                 string
	shutdown                   string // agent.shutdown_timeout, "3s" when empty
	extra                      string
}

func (c agentConfig) write(t *testing.T) string {
	t.Helper()
	token := filepath.Join(c.dir, "token")
	if err := os.WriteFile(token, []byte("test-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c.batchDelay == "" {
		c.batchDelay = "200ms"
	}
	if c.shutdown == "" {
		c.shutdown = "3s"
	}
	toml := fmt.Sprintf(`[device]
id = %q
[server]
url = %q
token_file = %q
reconnect_delay = "100ms"
reconnect_delay_max = "500ms"
ack_timeout = "2s"
[outbox]
path = %q
[telemetry]
batch_max_records = 5
batch_max_delay = %q
[agent]
runtime_dir = %q
shutdown_timeout = %q
log_level = "debug"
[[sensors]]
name = "counter"
driver = "sim"
signal = "counter"
interval = %q
timeout = "50ms"
%s`, c.device, c.url, token, filepath.Join(c.dir, "outbox.db"), c.batchDelay, filepath.Join(c.dir, "run"), c.shutdown, c.interval, c.extra)
	path := filepath.Join(c.dir, "sioagent.toml")
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// telemetryStats asks the example server what it stored for device.
type telemetryStats struct {
	Stored     int         `json:"stored"`
	Duplicates int         `json:"duplicates"`
	Records    int         `json:"records"`
	Runs       [][2]uint64 `json:"runs"`
}

func askTelemetry(t *testing.T, url, device string) telemetryStats {
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
	args, err := s.EmitWithAck(ctx, "telemetry-stats", map[string]string{"deviceId": device})
	if err != nil {
		t.Fatalf("telemetry-stats: %v", err)
	}
	var st telemetryStats
	if err := args.Decode(0, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// waitTelemetry polls the server until cond holds.
func waitTelemetry(t *testing.T, url, device string, timeout time.Duration, cond func(telemetryStats) bool) telemetryStats {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := askTelemetry(t, url, device)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("server state %+v did not reach the condition within %s", st, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// agentStatus runs `sioagent status --json` in-process against dir.
func agentStatus(t *testing.T, runtimeDir string) map[string]any {
	t.Helper()
	code, out, errOut := runCmd(t, "status", "--json", "--runtime-dir", runtimeDir)
	if code != exitOK {
		t.Fatalf("status: exit %d: %s", code, errOut)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("status output %q: %v", out, err)
	}
	return m
}

// The real binary against the Node server: systemd hears READY, WATCHDOG,
// STATUS and STOPPING; readings arrive in seq order without gaps; status
// answers; SIGTERM delivers what is queued and exits 0 within the deadline.
func TestAgentRunsNotifiesAndStops(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	dir := t.TempDir()
	cfg := agentConfig{dir: dir, url: srv.URL(), device: "e2e-run", interval: "50ms"}.write(t)
	p := startAgent(t, cfg)
	p.waitNotify("READY=1", testTimeout)
	if line := p.waitNotify("STATUS=", time.Second); !strings.Contains(line, "outbox") || !strings.Contains(line, srv.URL()) {
		t.Errorf("STATUS line %q lacks the server or the outbox depth", line)
	}
	p.waitNotify("WATCHDOG=1", 5*time.Second)
	st := waitTelemetry(t, srv.URL(), "e2e-run", testTimeout, func(s telemetryStats) bool { return s.Records >= 20 })
	if len(st.Runs) != 1 || st.Runs[0][0] != 1 {
		t.Fatalf("stored seqs %v, want one run from 1", st.Runs)
	}
	m := agentStatus(t, filepath.Join(dir, "run"))
	conn, _ := m["connection"].(map[string]any)
	if conn["connected"] != true || m["deviceId"] != "e2e-run" {
		t.Errorf("status says %v", m)
	}
	code, took := p.stop(syscall.SIGTERM, 10*time.Second)
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	// The deadline is 3 s; the margin is for a loaded machine, and stays
	// below p.stop's 10 s, after which it kills the agent.
	if took > 3*time.Second+stopMargin {
		t.Errorf("stopping took %s; the shutdown deadline is 3 s", took)
	}
	p.waitNotify("STOPPING=1", time.Second)
	// Everything produced was delivered at the stop: the file is intact
	// and empty, and the server holds one run of seqs.
	s, err := store.Open(filepath.Join(dir, "outbox.db"), nil)
	if err != nil {
		t.Fatalf("outbox after stop: %v", err)
	}
	left := s.Stats().Count
	s.Close()
	final := askTelemetry(t, srv.URL(), "e2e-run")
	if len(final.Runs) != 1 || final.Runs[0][0] != 1 {
		t.Fatalf("stored seqs %v, want one run from 1", final.Runs)
	}
	if left != 0 {
		t.Errorf("%d records left in the outbox after a stop with the server up", left)
	}
	if _, err := os.Stat(filepath.Join(dir, "run", "status.sock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("status socket left behind: %v", err)
	}
}

// stopMargin is how much longer than its shutdown deadline a stopping
// agent may take to exit on a loaded machine (process exit, scheduling).
const stopMargin = 4 * time.Second

// Server down for 10 s while the agent produces readings; the agent is
// killed with SIGKILL during the outage and started again. The restarted
// agent still holds every batch queued before the kill, and once the server
// is back every committed batch arrives: the server's seqs are one run from
// the first seq the killed agent had queued to the last one made.
func TestAgentSurvivesOutageAndKill(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	dir := t.TempDir()
	cfg := agentConfig{dir: dir, url: srv.URL(), device: "e2e-outage", interval: "50ms"}.write(t)
	p := startAgent(t, cfg)
	p.waitNotify("READY=1", testTimeout)
	waitTelemetry(t, srv.URL(), "e2e-outage", testTimeout, func(s telemetryStats) bool { return s.Stored >= 3 })

	srv.Stop()
	outage := time.Now()
	time.Sleep(4 * time.Second)
	// The server is down, so nothing is acked from here on: the queue runs
	// from firstQueued (the oldest unacknowledged batch) to the last batch
	// committed, and only grows until the kill.
	runDir := filepath.Join(dir, "run")
	before := outboxStatus(t, runDir)
	if before.Depth == 0 {
		t.Fatalf("nothing queued after 4 s of outage: %+v", before)
	}
	firstQueued := before.NextSeq - before.Depth
	p.cmd.Process.Kill()
	<-p.done
	p2 := startAgent(t, cfg)
	p2.waitNotify("READY=1", testTimeout)
	if after := outboxStatus(t, runDir); after.NextSeq < before.NextSeq || after.Depth < before.Depth {
		t.Fatalf("after the kill the agent holds %d batches up to seq %d; before it, %d up to seq %d",
			after.Depth, after.NextSeq-1, before.Depth, before.NextSeq-1)
	}
	time.Sleep(10*time.Second - time.Since(outage))
	srv.Restart(t)

	waitStatus(t, runDir, 30*time.Second, func(m map[string]any) bool {
		ob, _ := m["outbox"].(map[string]any)
		conn, _ := m["connection"].(map[string]any)
		return conn["connected"] == true && ob["depth"] == float64(0)
	})
	code, _ := p2.stop(syscall.SIGTERM, 10*time.Second)
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	s, err := store.Open(filepath.Join(dir, "outbox.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	left := s.Stats()
	s.Close()
	st := askTelemetry(t, srv.URL(), "e2e-outage")
	// The server restarted, so it holds what arrived after the outage:
	// one run of consecutive seqs from the first one queued before the
	// kill to the last one the agent made.
	if len(st.Runs) != 1 {
		t.Fatalf("seqs stored after the outage have gaps: %v", st.Runs)
	}
	if st.Runs[0][0] != firstQueued {
		t.Errorf("the server's seqs start at %d, want %d: the first batch queued before the kill (%d were queued)",
			st.Runs[0][0], firstQueued, before.Depth)
	}
	if left.Count != 0 || st.Runs[0][1] != left.NextSeq-1 {
		t.Errorf("server's last seq %d; agent's next seq %d with %d left queued", st.Runs[0][1], left.NextSeq, left.Count)
	}
	if st.Stored < 10 {
		t.Errorf("only %d batches after a 10 s outage at 20 readings/s", st.Stored)
	}
}

// queueStatus is the part of `sioagent status --json` about the outbox.
type queueStatus struct {
	Depth   uint64 `json:"depth"`
	NextSeq uint64 `json:"nextSeq"`
}

// outboxStatus asks the running agent (runtime directory dir) for its
// outbox's depth and next seq.
func outboxStatus(t *testing.T, dir string) queueStatus {
	t.Helper()
	m := waitStatus(t, dir, testTimeout, func(m map[string]any) bool {
		ob, _ := m["outbox"].(map[string]any)
		_, ok := ob["nextSeq"].(float64)
		return ok
	})
	ob := m["outbox"].(map[string]any)
	depth, _ := ob["depth"].(float64)
	return queueStatus{Depth: uint64(depth), NextSeq: uint64(ob["nextSeq"].(float64))}
}

func waitStatus(t *testing.T, dir string, timeout time.Duration, cond func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, out, _ := runCmd(t, "status", "--json", "--runtime-dir", dir)
		if code == exitOK {
			var m map[string]any
			if json.Unmarshal([]byte(out), &m) == nil && cond(m) {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent status did not reach the condition within %s: %s", timeout, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Bad inputs fail at start with exit 78 and a message naming the file, the
// key and the reason; nothing is started.
func TestAgentRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	good := agentConfig{dir: dir, url: "http://127.0.0.1:1", device: "bad", interval: "1s"}.write(t)
	data, _ := os.ReadFile(good)
	cases := []struct {
		name, edit string
		want       []string
	}{
		{"syntax", "[device\n", []string{"line"}},
		{"unknown key", "[device]\nid = \"x\"\ncolour = \"red\"\n", []string{"device.colour"}},
		{"bad duration", strings.Replace(string(data), `interval = "1s"`, `interval = "soon"`, 1), []string{`sensors."counter".interval`, "soon"}},
		{"unknown driver", strings.Replace(string(data), `driver = "sim"`, `driver = "bme999"`, 1), []string{`sensors."counter".driver`, "bme999"}},
	}
	for _, c := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".toml")
		os.WriteFile(path, []byte(c.edit), 0o600)
		code, _, errOut := runCmd(t, "run", "--config", path)
		if code != exitConfig {
			t.Errorf("%s: exit %d, want %d; stderr %s", c.name, code, exitConfig, errOut)
		}
		for _, w := range append(c.want, path) {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: stderr %q does not mention %q", c.name, errOut, w)
			}
		}
	}
	// An unreadable token file.
	tokenless := strings.Replace(string(data), filepath.Join(dir, "token"), filepath.Join(dir, "missing-token"), 1)
	path := filepath.Join(dir, "tokenless.toml")
	os.WriteFile(path, []byte(tokenless), 0o600)
	code, _, errOut := runCmd(t, "run", "--config", path)
	if code != exitConfig || !strings.Contains(errOut, "server.token_file") || !strings.Contains(errOut, "missing-token") {
		t.Errorf("missing token file: exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "outbox.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused config created the outbox: %v", err)
	}
}

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
	if code, r := sendCommand(t, url, dev, "agent:ping", nil); code != 200 || ackError(t, "ping", r) != "" || r.Ack["result"].(map[string]any)["pong"] != true {
		t.Errorf("agent:ping: %d %+v", code, r)
	}
	code, r := sendCommand(t, url, dev, "sensor:read", map[string]any{"sensor": "temp"})
	if code != 200 || ackError(t, "sensor:read", r) != "" || len(r.Binary) != 1 || len(r.SenML) != 1 {
		t.Fatalf("sensor:read: %d %+v", code, r)
	}
	if got := r.SenML[0]; got.N != "e2e-cmd:temp/temperature" || got.U != "Cel" || got.V < 15 || got.V > 25 {
		t.Errorf("sensor:read SenML record %+v", got)
	}
	_, r = sendCommand(t, url, dev, "agent:status", nil)
	if ackError(t, "status", r) != "" || r.Ack["result"].(map[string]any)["deviceId"] != dev {
		t.Errorf("agent:status: %+v", r)
	}
	_, r = sendCommand(t, url, dev, "queue:stats", nil)
	if ackError(t, "queue", r) != "" || r.Ack["result"].(map[string]any)["acked"].(float64) < 1 {
		t.Errorf("queue:stats: %+v", r)
	}
	_, r = sendCommand(t, url, dev, "sampling:set", map[string]any{"sensor": "counter", "interval": "250ms"})
	if ackError(t, "sampling:set", r) != "" || r.Ack["result"].(map[string]any)["interval"] != "250ms" {
		t.Errorf("sampling:set: %+v", r)
	}
	errorCases := []struct {
		name string
		args any
		want string
	}{
		{"no:such-command", nil, "unknown_command"},
		{"sensor:read", map[string]any{"sensor": "nope"}, "not_found"},
		{"sensor:read", map[string]any{}, "bad_args"},
		{"sensor:read", map[string]any{"sensor": "temp", "extra": 1}, "bad_args"},
		{"sensor:read", map[string]any{"sensor": 42}, "bad_args"},
		{"sampling:set", map[string]any{"sensor": "counter", "interval": "1ns"}, "bad_args"},
		{"sampling:set", map[string]any{"sensor": "counter", "interval": "soon"}, "bad_args"},
		{"gpio:write", map[string]any{"pin": "GPIO27", "value": true}, "not_allowed"},
		{"gpio:write", map[string]any{"pin": "GPIO27"}, "bad_args"},
		{"gpio:read", map[string]any{"pin": "GPIO4"}, "not_allowed"},
		{"agent:ping", map[string]any{"id": 7}, "bad_args"},
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
	_, first := sendCommand(t, url, dev, "sensor:read", map[string]any{"id": "same-1", "sensor": "temp"})
	_, again := sendCommand(t, url, dev, "sensor:read", map[string]any{"id": "same-1", "sensor": "temp"})
	_, other := sendCommand(t, url, dev, "sensor:read", map[string]any{"id": "same-2", "sensor": "temp"})
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

// SIGTERM while the server is unreachable: the agent does not wait out the
// whole shutdown deadline for a connection that is not there, exits 0, and
// leaves every batch it stored in an intact outbox for the next start.
func TestAgentStopsOfflineKeepingTheOutbox(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a port nobody answers on
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	cfg := agentConfig{dir: dir, url: url, device: "e2e-offline", interval: "50ms", shutdown: "20s"}.write(t)
	p := startAgent(t, cfg)
	p.waitNotify("READY=1", testTimeout)
	waitStatus(t, filepath.Join(dir, "run"), testTimeout, func(m map[string]any) bool {
		ob, _ := m["outbox"].(map[string]any)
		return ob["depth"].(float64) >= 3
	})
	code, took := p.stop(syscall.SIGTERM, 30*time.Second)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	// The deadline is 20 s; offline, the agent gives up after about a
	// second instead.
	if took > 8*time.Second {
		t.Errorf("stopping offline took %s", took)
	}
	s, err := store.Open(filepath.Join(dir, "outbox.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st := s.Stats()
	if st.Count < 3 || st.NextSeq != st.Count+1 {
		t.Fatalf("outbox after an offline stop: %d records, next seq %d; want every batch since seq 1 kept", st.Count, st.NextSeq)
	}
	recs, err := s.Peek(int(st.Count))
	if err != nil || len(recs) != int(st.Count) || recs[0].Seq != 1 {
		t.Errorf("peek: %d records (%v), want %d from seq 1", len(recs), err, st.Count)
	}
}

// The agent is SIGKILLed again and again while it samples and delivers:
// every batch it committed reaches the server exactly once in seq terms
// (the server's seqs form one run from 1 to the last seq the store handed
// out, duplicates acked as such), and the store never skips or reuses a
// seq across the restarts.
func TestAgentKilledRepeatedly(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	dir := t.TempDir()
	cfg := agentConfig{dir: dir, url: srv.URL(), device: "e2e-kill", interval: "50ms", batchDelay: "50ms"}.write(t)
	const kills = 6
	for i := range kills {
		p := startAgent(t, cfg)
		p.waitNotify("READY=1", testTimeout)
		time.Sleep(time.Duration(300+100*i) * time.Millisecond)
		p.cmd.Process.Kill()
		<-p.done
	}
	p := startAgent(t, cfg)
	p.waitNotify("READY=1", testTimeout)
	waitStatus(t, filepath.Join(dir, "run"), testTimeout, func(m map[string]any) bool {
		ob, _ := m["outbox"].(map[string]any)
		conn, _ := m["connection"].(map[string]any)
		return conn["connected"] == true && ob["depth"] == float64(0)
	})
	if code, _ := p.stop(syscall.SIGTERM, 10*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	s, err := store.Open(filepath.Join(dir, "outbox.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	left := s.Stats()
	s.Close()
	st := askTelemetry(t, srv.URL(), "e2e-kill")
	if len(st.Runs) != 1 || st.Runs[0][0] != 1 || st.Runs[0][1] != left.NextSeq-1 || left.Count != 0 {
		t.Fatalf("after %d kills: server seqs %v, store next seq %d with %d queued; want one run 1..%d", kills, st.Runs, left.NextSeq, left.Count, left.NextSeq-1)
	}
	t.Logf("%d kills: %d batches stored once, %d duplicates acked", kills, st.Stored, st.Duplicates)
}
