package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// soakEnv must be "1" for TestSoakSmoke to run: it needs Node.js and the
// example server's npm dependencies, and takes about 20 s.
const soakEnv = "SIOAGENT_SOAK"

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestParseFlagsDefaults(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.duration != 10*time.Minute || o.faultEvery != 5*time.Second || o.restartEvery != time.Minute ||
		o.agentRestartEvery != 90*time.Second || o.verbose || o.seed == 0 {
		t.Fatalf("defaults: %+v", o)
	}
	if !strings.Contains(o.command(), fmt.Sprintf("-seed %d", o.seed)) {
		t.Fatalf("command %q does not show the seed %d", o.command(), o.seed)
	}
}

func TestParseFlagsValues(t *testing.T) {
	o, err := parseFlags([]string{"-duration", "3m", "-seed", "7", "-fault-every", "0", "-restart-every", "20s", "-agent-restart-every", "0", "-v"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := options{duration: 3 * time.Minute, seed: 7, restartEvery: 20 * time.Second, verbose: true}
	if o != want {
		t.Fatalf("got %+v, want %+v", o, want)
	}
	for _, bad := range [][]string{
		{"-duration", "0s"},
		{"-fault-every", "-1s"},
		{"-restart-every", "-1s"},
		{"-agent-restart-every", "-1s"},
		{"extra"},
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}

func TestAgentConfig(t *testing.T) {
	dir := t.TempDir()
	cfg, err := agentConfig(dir, "http://127.0.0.1:1234")
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Server
	if cfg.Device.ID != deviceID || s.URL != "http://127.0.0.1:1234" || s.TokenFile != "" ||
		s.ReconnectDelay != reconnectDelay || s.ReconnectDelayMax != reconnectDelayMax || s.AckTimeout != ackTimeout {
		t.Errorf("device/server: %+v %+v", cfg.Device, s)
	}
	if cfg.Telemetry.BatchMaxRecords != batchMaxRecords || cfg.Telemetry.BatchMaxDelay != batchMaxDelay ||
		cfg.Agent.ShutdownTimeout != shutdownTimeout || !strings.HasPrefix(cfg.Outbox.Path, dir) || !strings.HasPrefix(cfg.Agent.RuntimeDir, dir) {
		t.Errorf("telemetry/agent/outbox: %+v %+v %+v", cfg.Telemetry, cfg.Agent, cfg.Outbox)
	}
	if len(cfg.Sensors) != len(sensorIntervals) {
		t.Fatalf("%d sensors, want %d", len(cfg.Sensors), len(sensorIntervals))
	}
	for i, s := range cfg.Sensors {
		if s.Driver != "sim" || s.Interval != sensorIntervals[i] {
			t.Errorf("sensor %d: driver %q interval %v, want sim every %v", i, s.Driver, s.Interval, sensorIntervals[i])
		}
	}
}

func TestAnalyseMergesLives(t *testing.T) {
	lives := []serverStats{
		{Duplicates: 2, Records: 10, Runs: [][2]uint64{{1, 5}, {8, 9}}}, // 6 and 7 not stored by this life
		{Duplicates: 1, Records: 4, Runs: [][2]uint64{{9, 12}}},         // 9 again: stored by two lives
		{Runs: [][2]uint64{{14, 14}, {16, 17}}},                         // 13 and 15 never stored
	}
	a := analyse(lives, 17)
	if a.Lives != 3 || a.Produced != 17 || a.Stored != 13 {
		t.Errorf("lives %d produced %d stored %d, want 3, 17, 13", a.Lives, a.Produced, a.Stored)
	}
	if got := fmt.Sprint(a.Missing); got != "[6-7 13 15]" || a.MissingCount != 4 {
		t.Errorf("missing %s (%d seqs), want [6-7 13 15] (4)", got, a.MissingCount)
	}
	if a.CrossLife != 1 || a.ServerDuplicates != 3 || a.OrderBreaks != 2 || a.Records != 14 || len(a.Unexpected) != 0 {
		t.Errorf("cross-life %d dups %d breaks %d records %d unexpected %v, want 1, 3, 2, 14, none",
			a.CrossLife, a.ServerDuplicates, a.OrderBreaks, a.Records, a.Unexpected)
	}
}

func TestAnalyseUnexpectedAndComplete(t *testing.T) {
	// Out of order within one life, all produced seqs stored, plus seqs
	// the outbox never gave out.
	a := analyse([]serverStats{{Runs: [][2]uint64{{3, 4}, {1, 2}, {0, 0}, {5, 7}}}}, 5)
	if a.MissingCount != 0 || len(a.Missing) != 0 {
		t.Errorf("missing %v, want none", a.Missing)
	}
	if got := fmt.Sprint(a.Unexpected); got != "[0 6-7]" {
		t.Errorf("unexpected %s, want [0 6-7]", got)
	}
	if a.OrderBreaks != 3 {
		t.Errorf("order breaks %d, want 3", a.OrderBreaks)
	}
	// The largest seq must not wrap the loop.
	const top = ^uint64(0)
	if a := analyse([]serverStats{{Runs: [][2]uint64{{top - 1, top}}}}, 0); a.Stored != 2 {
		t.Errorf("stored %d of a run ending at the largest uint64, want 2", a.Stored)
	}
}

func TestReportFailures(t *testing.T) {
	pass := report{acct: analyse([]serverStats{{Runs: [][2]uint64{{1, 3}}}}, 3), gStart: 3, gBeforeAgent: 7, gAfterAgent: 7, gEnd: 3}
	if f := pass.failures(); len(f) != 0 {
		t.Fatalf("failures of a clean run: %q", f)
	}
	var buf bytes.Buffer
	pass.write(&buf)
	if !regexp.MustCompile(`(?m)^  result +PASS$`).Match(buf.Bytes()) {
		t.Errorf("report of a clean run:\n%s", &buf)
	}
	for name, mutate := range map[string]func(*report){
		"missing":       func(r *report) { r.acct = analyse([]serverStats{{Runs: [][2]uint64{{1, 2}}}}, 3) },
		"unexpected":    func(r *report) { r.acct = analyse([]serverStats{{Runs: [][2]uint64{{1, 4}}}}, 3) },
		"nothing":       func(r *report) { r.acct = analyse(nil, 0) },
		"agent leak":    func(r *report) { r.gAfterAgent = 8 },
		"end leak":      func(r *report) { r.gEnd = 4 },
		"stopped early": func(r *report) { r.runErr = errors.New("server restart 1: boom") },
	} {
		r := pass
		mutate(&r)
		if f := r.failures(); len(f) != 1 {
			t.Errorf("%s: failures %q, want one", name, f)
		}
		buf.Reset()
		r.write(&buf)
		if !strings.Contains(buf.String(), "FAIL") {
			t.Errorf("%s: report does not say FAIL:\n%s", name, &buf)
		}
	}
}

// TestSoakSmoke runs the command for 15 s with faults every 2 s, a server
// restart and agent restarts, and checks that it passes. It only runs
// with SIOAGENT_SOAK=1 (the soak is a tool, not a CI test).
func TestSoakSmoke(t *testing.T) {
	if os.Getenv(soakEnv) != "1" {
		t.Skipf("set %s=1 to run the soak smoke test (needs Node.js and `npm ci` in examples/server)", soakEnv)
	}
	o := options{duration: 15 * time.Second, faultEvery: 2 * time.Second, restartEvery: 6 * time.Second, agentRestartEvery: 5 * time.Second, seed: 1}
	var out, errOut bytes.Buffer
	code := run(o, &out, &errOut)
	t.Logf("report:\n%s", &out)
	if code != exitPass {
		t.Fatalf("exit status %d, want %d; stderr:\n%s", code, exitPass, &errOut)
	}
	for _, re := range []string{
		`(?m)^  result +PASS$`,
		`(?m)^  missing +0$`,
		`(?m)^  agent runs +[2-9] `,                     // at least one agent restart
		`(?m)^  faults injected +\d+ \(.*restart [1-9]`, // at least one server restart
	} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Errorf("report does not match %s", re)
		}
	}
	m := regexp.MustCompile(`(?m)^  batches produced +(\d+) `).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatal("no batches produced line")
	}
	if n, _ := strconv.Atoi(m[1]); n < 10 {
		t.Errorf("%d batches produced in 15 s, want at least 10", n)
	}
}

// Example shows how the soak merges what successive server processes
// stored and finds the batches none of them has.
func Example() {
	lives := []serverStats{
		{Runs: [][2]uint64{{1, 40}}},             // counted before a restart
		{Runs: [][2]uint64{{40, 60}, {63, 100}}}, // 40 delivered again; 61, 62 never
	}
	a := analyse(lives, 100)
	fmt.Println("stored:", a.Stored, "missing:", a.MissingCount, a.Missing, "stored twice:", a.CrossLife)
	// Output: stored: 98 missing: 2 [61-62] stored twice: 1
}
