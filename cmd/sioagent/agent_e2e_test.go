package main

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/store"
)

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
