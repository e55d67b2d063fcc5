package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/faultproxy"
	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/internal/powercut"
	"github.com/sioagent/sioagent/store"
)

// Power cuts of the end-to-end test.
const (
	// powerCuts is how many power cuts one run of
	// TestPowerCutAgentEndToEnd makes; powerCutsEnv may raise it.
	powerCuts    = 20
	powerCutsEnv = "SIOAGENT_POWERCUTS"
	// powerCutSeedEnv fixes the test's random choices (logged each run).
	powerCutSeedEnv = "SIOAGENT_POWERCUT_SEED"
	// minUnsyncedCuts is how many cuts must find writes to the outbox
	// that were not fsynced yet, and minLossyCuts how many must change
	// the files: otherwise the test cut nothing and proves nothing.
	minUnsyncedCuts = 5
	minLossyCuts    = 1
)

// committedLine is the store's debug line for each group commit.
var committedLine = regexp.MustCompile(`msg="store: records committed".* first=(\d+) last=(\d+)`)

// committedSeqs returns the seqs an agent's log says the store committed.
func committedSeqs(t *testing.T, log string) []uint64 {
	t.Helper()
	var seqs []uint64
	for _, m := range committedLine.FindAllStringSubmatch(log, -1) {
		first, err1 := strconv.ParseUint(m[1], 10, 64)
		last, err2 := strconv.ParseUint(m[2], 10, 64)
		if err1 != nil || err2 != nil || first == 0 || last < first {
			t.Fatalf("malformed commit line %q", m[0])
		}
		for s := first; s <= last; s++ {
			seqs = append(seqs, s)
		}
	}
	return seqs
}

// envStoreStats makes the test binary print the Stats of the outbox file
// it names and exit: the test process serves the power-cut filesystem,
// so it must not map a file on it itself (a page fault it has to answer
// while the Go runtime waits for the memory map's lock deadlocks).
const envStoreStats = "SIOAGENT_TEST_STORE_STATS"

// fileStats is what the envStoreStats mode prints.
type fileStats struct {
	Count, NextSeq uint64
	Recovered      bool
}

func init() {
	path := os.Getenv(envStoreStats)
	if path == "" {
		return
	}
	s, err := store.Open(path, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	st := s.Stats()
	out, _ := json.Marshal(fileStats{Count: st.Count, NextSeq: st.NextSeq, Recovered: s.Recovery() != nil})
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(out))
	os.Exit(0)
}

// outboxFileStats opens the outbox file at path in a child process.
func outboxFileStats(t *testing.T, path string) fileStats {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envStoreStats+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("open the outbox %s: %v: %s", path, err, stderr.Bytes())
	}
	var st fileStats
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("outbox stats %q: %v", out, err)
	}
	if st.Recovered {
		t.Errorf("the outbox file had to be recovered (set aside as damaged) at the last open")
	}
	return st
}

// snapshot reads every file under dir (the agent must not be running).
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		files[strings.TrimPrefix(path, dir)] = b
		return err
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", dir, err)
	}
	return files
}

func sameFiles(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for name, x := range a {
		if y, ok := b[name]; !ok || !bytes.Equal(x, y) {
			return false
		}
	}
	return true
}

// writeKiller SIGKILLs the agent from inside the filesystem, at the n-th
// write to the outbox file after it is armed: the write is made and the
// agent dies before it can fsync it, so the cut that follows has unsynced
// writes to throw away.
//
// It also tracks whether the outbox file has writes not yet fsynced: what
// a cut then throws away.
type writeKiller struct {
	mu      sync.Mutex
	pid     int
	left    int
	killed  bool
	pending bool // a write to the outbox file since its last fsync
}

func (k *writeKiller) arm(pid, n int) {
	k.mu.Lock()
	k.pid, k.left, k.killed = pid, n, false
	k.mu.Unlock()
}

// disarm stops it and reports whether it killed the agent.
func (k *writeKiller) disarm() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	killed := k.killed
	k.pid, k.killed = 0, false
	return killed
}

// unsynced reports whether the outbox file has unsynced writes.
func (k *writeKiller) unsynced() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.pending
}

func (k *writeKiller) fault(op powercut.Op) syscall.Errno {
	if filepath.Base(op.Path) != "outbox.db" {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	switch op.Kind {
	case powercut.Fsync:
		k.pending = false
		return 0
	case powercut.Write:
		k.pending = true
	default:
		return 0
	}
	if k.pid == 0 {
		return 0
	}
	if k.left--; k.left <= 0 {
		syscall.Kill(k.pid, syscall.SIGKILL)
		k.pid, k.killed = 0, true
	}
	return 0
}

// The real agent, its outbox and seq sidecar on a filesystem that loses
// what was not fsynced, against the real server behind a proxy: SIGKILL
// at random moments (while producing with the server up, and while
// draining a backlog built while the proxy refused connections, some of
// them right after a write to the outbox and before its fsync), a power
// cut (torn last write) after each kill, a restart. At the end every
// batch the store logged as committed reached the server, under a seq no
// other batch was committed with: the server's seqs are one run from 1 to
// the last seq the store handed out, stored once each, and the outbox is
// empty.
//
// The boot id stays the machine's across the cuts (the store's boot-id
// source is an unexported test option, the agent has no knob), so every
// restart is treated as a process crash within one boot: the store trusts
// the file's sequence, which is what makes a lost commit show up as a
// reused seq.
func TestPowerCutAgentEndToEnd(t *testing.T) {
	fs := powercut.Mount(t)
	start := time.Now()
	cuts := powerCuts
	if v, err := strconv.Atoi(os.Getenv(powerCutsEnv)); err == nil && v > cuts {
		cuts = v
	}
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv(powerCutSeedEnv), 10, 64); err == nil {
		seed = v
	}
	t.Logf("%d power cuts, %s=%d", cuts, powerCutSeedEnv, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))

	srv := nodeserver.Start(t, nodeserver.Options{})
	proxy := faultproxy.Start(t, "127.0.0.1:"+strconv.Itoa(srv.Port()))
	const device = "e2e-powercut"
	dir := t.TempDir()
	cfg := agentConfig{dir: dir, url: proxy.URL(), device: device, interval: "50ms", batchDelay: "50ms", extra: `
[[sensors]]
name = "fast"
driver = "sim"
signal = "counter"
interval = "10ms"
timeout = "5ms"
`}.write(t)
	dbPath := filepath.Join(fs.Dir(), "outbox.db")
	raw, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	old := "path = " + strconv.Quote(filepath.Join(dir, "outbox.db"))
	if !strings.Contains(string(raw), old) {
		t.Fatalf("config %s has no %s", cfg, old)
	}
	edited := strings.Replace(string(raw), old, "path = "+strconv.Quote(dbPath), 1)
	if err := os.WriteFile(cfg, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(dir, "run")
	killer := &writeKiller{}
	fs.SetFault(killer.fault)

	committedBy := map[uint64]int{} // seq -> the run that committed it
	collect := func(run int, p *agentProc) {
		log := p.log()
		if strings.Contains(log, "database file damaged") {
			t.Errorf("run %d: the agent found its outbox file damaged after a cut", run)
		}
		for _, s := range committedSeqs(t, log) {
			if prev, ok := committedBy[s]; ok {
				t.Errorf("seq %d committed twice: in run %d and again in run %d (a commit was lost and its seq reused)", s, prev, run)
				continue
			}
			committedBy[s] = run
		}
	}
	connected := func(m map[string]any) bool {
		conn, _ := m["connection"].(map[string]any)
		return conn["connected"] == true
	}

	var lossy, unsynced, drainCuts, hookKills int
	for i := range cuts {
		p := startAgent(t, cfg)
		p.waitNotify("READY=1", testTimeout)
		draining := i%2 == 1
		if draining {
			// A backlog: no connection for a while, then a drain with
			// some latency, cut while it runs.
			proxy.SetRefuse(true)
			proxy.Cut()
			time.Sleep(time.Duration(600+rng.IntN(900)) * time.Millisecond)
			proxy.SetLatency(time.Duration(rng.IntN(20)) * time.Millisecond)
			proxy.SetRefuse(false)
			waitStatus(t, runDir, testTimeout, connected)
			time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
			if st := outboxStatus(t, runDir); st.Depth > 0 {
				drainCuts++
			}
		} else {
			time.Sleep(time.Duration(200+rng.IntN(1000)) * time.Millisecond)
		}
		// Half the kills, in both modes, at a write to the outbox; the
		// others at a random moment.
		if (i/2)%2 == 0 {
			killer.arm(p.cmd.Process.Pid, 1+rng.IntN(6))
			select {
			case <-p.done:
			case <-time.After(3 * time.Second):
			}
		}
		if killer.disarm() {
			hookKills++
		}
		p.cmd.Process.Kill()
		<-p.done
		proxy.SetLatency(0)
		collect(i, p)

		if killer.unsynced() {
			unsynced++
		}
		before := snapshot(t, fs.Dir())
		if err := fs.PowerCut(powercut.CutOptions{Torn: true, Rand: rng}); err != nil {
			t.Fatalf("cut %d: %v", i+1, err)
		}
		if !sameFiles(before, snapshot(t, fs.Dir())) {
			lossy++
		}
		killer.mu.Lock()
		killer.pending = false // the cut took them
		killer.mu.Unlock()
	}

	// The last start: everything is delivered.
	p := startAgent(t, cfg)
	p.waitNotify("READY=1", testTimeout)
	waitStatus(t, runDir, testTimeout, func(m map[string]any) bool {
		ob, _ := m["outbox"].(map[string]any)
		return connected(m) && ob["depth"] == float64(0)
	})
	if code, _ := p.stop(syscall.SIGTERM, 10*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
	collect(cuts, p)

	if !strings.Contains(p.log(), `msg="outbox delivered"`) {
		t.Errorf("the last agent did not say it delivered the outbox at its stop")
	}
	left := outboxFileStats(t, dbPath)
	st := askTelemetry(t, srv.URL(), device)
	seqs, _, _ := telemetryRecords(t, srv.URL(), device)

	if left.Count != 0 {
		t.Errorf("%d records left in the outbox after the final drain", left.Count)
	}
	if len(st.Runs) != 1 || st.Runs[0][0] != 1 || st.Runs[0][1] != left.NextSeq-1 {
		t.Errorf("server seqs %v, store next seq %d: want one run 1..%d", st.Runs, left.NextSeq, left.NextSeq-1)
	}
	if len(st.Runs) == 1 && uint64(st.Stored) != st.Runs[0][1]-st.Runs[0][0]+1 {
		t.Errorf("server stored %d batches for the run %v", st.Stored, st.Runs[0])
	}
	seen := map[uint64]bool{}
	for _, s := range seqs {
		if seen[s] {
			t.Errorf("server stored seq %d twice", s)
		}
		seen[s] = true
	}
	var missing []uint64
	for s := range committedBy {
		if len(st.Runs) != 1 || s < st.Runs[0][0] || s > st.Runs[0][1] {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		sort.Slice(missing, func(i, j int) bool { return missing[i] < missing[j] })
		t.Errorf("%d committed seqs never reached the server: %v", len(missing), missing[:min(len(missing), 20)])
	}
	// A seq the store never logged may still arrive: a cut that keeps a
	// torn prefix of a commit's unsynced meta page completes the commit.
	var unlogged []uint64
	for _, s := range seqs {
		if _, ok := committedBy[s]; !ok {
			unlogged = append(unlogged, s)
		}
	}
	if len(committedBy) == 0 || uint64(len(committedBy)) > left.NextSeq-1 {
		t.Errorf("%d seqs logged as committed, store next seq %d", len(committedBy), left.NextSeq)
	}

	fst := fs.Stats()
	if fst.Cuts != cuts || fst.Fsyncs == 0 || fst.DirSyncs == 0 || fst.Writes == 0 {
		t.Errorf("filesystem stats %+v after %d cuts", fst, cuts)
	}
	// A cut with unsynced writes may still leave the same bytes (a torn
	// write keeps a prefix, and new pages are mostly zeros), so lossy
	// counts are lower than unsynced ones.
	if unsynced < minUnsyncedCuts || lossy < minLossyCuts {
		t.Errorf("%d of %d cuts had unsynced writes to the outbox (want %d) and %d changed the files (want %d): the test cut nothing",
			unsynced, cuts, minUnsyncedCuts, lossy, minLossyCuts)
	}
	if drainCuts == 0 {
		t.Errorf("no cut happened during a backlog drain")
	}
	t.Logf("%d cuts (%d with unsynced writes, %d changing the files, %d during a drain, %d at a write before its fsync) in %s: %d seqs logged as committed, %d more completed by a cut %v, server %+v, fs %+v",
		cuts, unsynced, lossy, drainCuts, hookKills, time.Since(start).Round(time.Millisecond), len(committedBy), len(unlogged), unlogged[:min(len(unlogged), 10)], st, fst)
}
