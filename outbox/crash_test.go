package outbox_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/internal/testenv"
	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/store"
)

// defaultCrashRounds is how many times TestCrash kills its child;
// OUTBOX_CRASH_ROUNDS overrides it.
const defaultCrashRounds = 40

// Environment of the helper process.
const (
	envPath   = "OUTBOX_TEST_PATH"
	envURL    = "OUTBOX_TEST_URL"
	envDevice = "OUTBOX_TEST_DEVICE"
)

// The crash proof: a child process appends records and drains
// them to the Node server while the test kills it (SIGKILL) at random
// points, again and again. After every kill the file passes bbolt's check
// and opens without recovery, and every record whose Append had returned is
// still queued or stored by the server. A last, clean run drains
// everything: the server then holds every appended record, once, in seq
// order, with the very bytes appended, and nothing it never was given.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	rounds := defaultCrashRounds
	if v, err := strconv.Atoi(os.Getenv("OUTBOX_CRASH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	srv := nodeserver.Start(t, nodeserver.Options{})
	obs := newObserver(t, srv.URL())
	const id = "crash"
	path := filepath.Join(t.TempDir(), "outbox.db")
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))

	appended := map[uint64][]byte{} // seq -> the payload its Append wrote
	maxIndex := [2]int{}            // the highest payload index per producer
	start := time.Now()
	for round := range rounds {
		cmd, out, stderr := childCommand("crash", path, srv.URL(), id)
		if err := cmd.Start(); err != nil {
			if errors.Is(err, syscall.ENOEXEC) {
				t.Skipf("cannot re-execute the test binary (%v): emulated without binfmt_misc", err)
			}
			t.Fatal(err)
		}
		early := r.IntN(8) == 0 // now and then, kill it while it starts
		if !early {
			deadline := time.Now().Add(testTimeout)
			for !strings.Contains(out.String(), "ready\n") && time.Now().Before(deadline) {
				time.Sleep(2 * time.Millisecond)
			}
		}
		if early {
			time.Sleep(time.Duration(r.IntN(40)) * time.Millisecond)
		} else {
			time.Sleep(time.Duration(r.IntN(250)) * time.Millisecond)
		}
		_ = cmd.Process.Kill()
		werr := cmd.Wait()
		// The child must die by the kill: one that ended by itself
		// (Enqueue or Run failed) is a failure, whatever it printed.
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: the child ended by itself (%v), not by the kill:\n%s", round, werr, stderr.String())
		}

		n := 0
		for _, a := range parseAppended(out.String()) {
			appended[a.seq] = payload(a.index)
			p, i := a.index>>24, a.index&(1<<24-1)
			if p < len(maxIndex) {
				maxIndex[p] = max(maxIndex[p], i)
			}
			n++
		}
		if msg := stderr.String(); strings.Contains(msg, "child:") || strings.Contains(msg, "enqueue:") {
			t.Fatalf("round %d: the child failed:\n%s", round, stderr.String())
		}
		queue, next := inspect(t, path, round)
		s := obs.stats(t, id) // after the store: see checkNoLoss
		have := make(map[uint64]bool, len(queue)+s.Stored)
		for _, seq := range queue {
			have[seq] = true
		}
		for _, seq := range s.seqs() {
			have[seq] = true
		}
		for seq := range appended {
			if !have[seq] {
				t.Fatalf("round %d: seq %d was appended but is neither queued nor stored by the server", round, seq)
			}
			if seq >= next {
				t.Fatalf("round %d: seq %d was appended but the store's next seq is %d", round, seq, next)
			}
		}
		t.Logf("round %d: killed after %d appends (early %v); %d queued, server stored %d (%d duplicates)",
			round, n, early, len(queue), s.Stored, s.Duplicates)
	}

	// A clean run drains what is left.
	cmd, out, stderr := childCommand("final", path, srv.URL(), id)
	if err := cmd.Run(); err != nil {
		t.Fatalf("final run: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), stderr.String())
	}
	if len(appended) < rounds {
		t.Fatalf("only %d appends returned in %d rounds", len(appended), rounds)
	}
	queue, next := inspect(t, path, rounds)
	if len(queue) != 0 {
		t.Fatalf("%d records left after the final run", len(queue))
	}
	s := obs.stats(t, id)
	stored := s.seqs()
	for i, seq := range stored {
		if seq == 0 || seq >= next {
			t.Fatalf("the server stored seq %d, never given out (next seq %d)", seq, next)
		}
		if i > 0 && seq <= stored[i-1] {
			t.Fatalf("the server stored seq %d after %d", seq, stored[i-1])
		}
	}
	got := make(map[uint64]bool, len(stored))
	for _, seq := range stored {
		got[seq] = true
	}
	for seq := range appended {
		if !got[seq] {
			t.Fatalf("seq %d was appended but never reached the server", seq)
		}
	}
	checkCrashContents(t, obs.digests(t, id), appended, maxIndex)
	t.Logf("%d kills in %v: %d appends returned, %d stored by the server in seq order (%d more were committed when the child died), %d duplicates acked",
		rounds, time.Since(start).Round(time.Millisecond), len(appended), len(stored), len(stored)-len(appended), s.Duplicates)
}

// inspect checks the closed file after a kill and returns the queued seqs
// and the next seq the store will give.
func inspect(t *testing.T, path string, round int) (queue []uint64, next uint64) {
	t.Helper()
	// A child killed before it created the file leaves none, and one
	// killed between creating it and bbolt's first write leaves it empty:
	// nothing can have been appended then, which the callers' checks
	// confirm (an empty file cannot be opened read-only, and bbolt fills
	// it in at the next Open).
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		if err := checkFile(path); err != nil {
			t.Fatalf("round %d: damaged file: %v", round, err)
		}
	}
	st, err := store.Open(path, &store.Options{LockTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("round %d: Open: %v", round, err)
	}
	defer st.Close()
	if rec := st.Recovery(); rec != nil {
		t.Fatalf("round %d: the file was set aside: %v", round, rec.Err)
	}
	return queued(t, st), st.Stats().NextSeq
}

// childCommand returns a command that runs this test binary as a helper
// process, with its output captured.
func childCommand(mode, path, url, device string) (cmd *exec.Cmd, stdout, stderr *testenv.Buffer) {
	cmd = exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, envPath+"="+path, envURL+"="+url, envDevice+"="+device)
	stdout, stderr = new(testenv.Buffer), new(testenv.Buffer)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	return cmd, stdout, stderr
}

// checkCrashContents checks the bytes of every batch the server stored
// (digests, by seq): a seq whose append the child reported holds that
// payload; one the child committed but died before reporting holds one of
// the payloads the child could have written (an index at most one past the
// highest reported of its producer: each round restarts the indexes).
func checkCrashContents(t *testing.T, digests map[uint64]string, appended map[uint64][]byte, maxIndex [2]int) {
	t.Helper()
	possible := map[string]bool{}
	for p, top := range maxIndex {
		for i := 1; i <= top+1; i++ {
			possible[digest(payload(p<<24|i))] = true
		}
	}
	unreported := 0
	for seq, d := range digests {
		if want, ok := appended[seq]; ok {
			if d != digest(want) {
				t.Fatalf("the server stored seq %d with sha256 %s, want %s (%q)", seq, d, digest(want), want)
			}
			continue
		}
		unreported++
		if !possible[d] {
			t.Fatalf("the server stored seq %d (never reported appended) with sha256 %s: not a payload the child wrote", seq, d)
		}
	}
	t.Logf("contents: %d batches match their payloads (%d unreported ones match a possible payload)", len(digests), unreported)
}

// appendLine is one "A <seq> <index>" line of the child: the seq its
// Append returned and the index of the payload it wrote.
type appendLine struct {
	seq   uint64
	index int
}

// parseAppended reads the child's "A <seq> <index>" lines; a torn last
// line is ignored.
func parseAppended(out string) []appendLine {
	var lines []appendLine
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "A ")
		if !ok {
			continue
		}
		seqText, indexText, ok := strings.Cut(rest, " ")
		if !ok {
			continue
		}
		seq, err1 := strconv.ParseUint(seqText, 10, 64)
		index, err2 := strconv.Atoi(indexText)
		if err1 == nil && err2 == nil {
			lines = append(lines, appendLine{seq, index})
		}
	}
	return lines
}

// runChild runs a helper process mode: "crash" appends and drains until
// killed; "final" drains until the store is empty, then exits 0.
func runChild(mode string) int {
	if err := child(mode); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

func child(mode string) error {
	st, err := store.Open(os.Getenv(envPath), &store.Options{LockTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer st.Close()
	client, err := socketio.New(os.Getenv(envURL), fastReconnect())
	if err != nil {
		return err
	}
	defer client.Close()
	var d *outbox.Drainer
	sock := client.Socket("/", &socketio.SocketOptions{SendBuffer: -1, OnConnect: func(bool) { d.Wake() }})
	d, err = outbox.NewDrainer(st, sock, &outbox.Options{DeviceID: os.Getenv(envDevice), AckTimeout: 2 * time.Second})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := sock.Connect(ctx); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	if mode == "final" {
		for st.Stats().Count > 0 && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		<-done
		if n := st.Stats().Count; n > 0 {
			return fmt.Errorf("%d records left", n)
		}
		return nil
	}

	// Two producers append until the process is killed, one steadily, one
	// in bursts that fill the window; each line is one write(2) to the
	// pipe, which the parent reads even after the kill.
	var mu sync.Mutex
	fmt.Println("ready")
	for p := range 2 {
		go func() {
			for i := 1; ; i++ {
				index := p<<24 | i
				seq, err := outbox.Enqueue(ctx, st, 1, outbox.ContentTypeSenMLCBOR, payload(index))
				if err != nil {
					fmt.Fprintln(os.Stderr, "enqueue:", err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Printf("A %d %d\n", seq, index)
				mu.Unlock()
				switch {
				case p == 0:
					time.Sleep(time.Millisecond)
				case i%100 == 0:
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	return <-done
}
