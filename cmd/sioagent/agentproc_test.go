package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sioagent/sioagent/protocol/socketio"
)

// The helpers of the end-to-end tests: the agent binary run as a child
// process, its configuration, and what the reference server and the
// status socket say about it.

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
