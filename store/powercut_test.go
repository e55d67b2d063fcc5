package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/powercut"
	"github.com/sioagent/sioagent/internal/testenv"
)

// defaultPowerCuts is how many power cuts TestPowerCutRandomWorkloads
// makes; STORE_POWER_CUTS overrides it.
const defaultPowerCuts = 50

// lostFileEvery: every lostFileEvery-th cut also deletes the bbolt file,
// so that the seq sidecar alone must keep seqs from being reused.
const lostFileEvery = 5

// Power-cut child timing: how long the child runs before the cut, at
// least and at most (random in between).
const (
	powerCutMinRun = 20 * time.Millisecond
	powerCutMaxRun = 250 * time.Millisecond
	childReadyWait = 10 * time.Second
)

// cutRecord returns the content of record counter of producer p: a
// header naming both and a filler derived from them, of a length that
// varies, so that a record can be checked on its own.
func cutRecord(p byte, counter uint64) []byte {
	n := 64 + int(counter*7919%3000)
	b := make([]byte, 10+n)
	b[0], b[1] = 'P', p
	binary.BigEndian.PutUint64(b[2:], counter)
	for i := range n {
		b[10+i] = byte(counter) + byte(i)*(p+1)
	}
	return b
}

// checkCutRecord reports whether b is a record cutRecord made, and which.
func checkCutRecord(b []byte) (p byte, counter uint64, ok bool) {
	if len(b) < 10 || b[0] != 'P' {
		return 0, 0, false
	}
	p, counter = b[1], binary.BigEndian.Uint64(b[2:])
	return p, counter, bytes.Equal(b, cutRecord(p, counter))
}

// TestPowerCutRandomWorkloads runs a child process doing a random mix of
// appends (single and batched), drains (RemoveThrough, Remove), dead
// letters, compactions and reopens on the power-cut filesystem, kills it
// at a random point, cuts the power (everything not fsynced is lost,
// sometimes with a torn last write) and "reboots" (a new boot id). After
// every cut the file must check clean and open without recovery, every
// record whose Append had returned must be there with its exact content
// (unless a removal that had been called covers it), in seq order, and no
// seq may ever be handed out twice. Every lostFileEvery-th cut also
// deletes the file, so that the seq sidecar must have survived the cut.
func TestPowerCutRandomWorkloads(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	fs := powercut.Mount(t)
	cuts := defaultPowerCuts
	if v, err := strconv.Atoi(os.Getenv("STORE_POWER_CUTS")); err == nil && v > 0 {
		cuts = v
	}
	path := filepath.Join(fs.Dir(), "outbox.db")
	bootPath := filepath.Join(t.TempDir(), "boot_id")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 11))
	var maxSeq uint64 // the largest seq ever handed out
	totalAppends := 0
	for cut := range cuts {
		writeBootID(t, bootPath, r)
		cmd := childCommand("powercut", path)
		cmd.Env = append(cmd.Env, "STORE_TEST_BOOTID="+bootPath, fmt.Sprintf("STORE_TEST_SEED=%d", r.Uint64()))
		var out, stderr testenv.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Start(); err != nil {
			skipIfCannotExec(t, err)
			t.Fatal(err)
		}
		deadline := time.Now().Add(childReadyWait)
		for !strings.Contains(out.String(), "ready") && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(powerCutMinRun + time.Duration(r.Int64N(int64(powerCutMaxRun-powerCutMinRun))))
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		log := parseCutLog(out.String())
		if !log.ready {
			t.Fatalf("cut %d: the child did not start; stderr:\n%s", cut, stderr.String())
		}
		if strings.Contains(stderr.String(), "FAIL") {
			t.Fatalf("cut %d: the child failed:\n%s", cut, stderr.String())
		}
		for seq := range log.appended {
			if seq <= maxSeq {
				t.Fatalf("cut %d: seq %d handed out again (an earlier run reached %d)", cut, seq, maxSeq)
			}
		}
		before := fs.Stats()
		if err := fs.PowerCut(powercut.CutOptions{Torn: r.IntN(2) == 0, Rand: r}); err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		writeBootID(t, bootPath, r) // the power came back: a new boot
		if cut%lostFileEvery == lostFileEvery-1 {
			// The file is lost (damaged beyond reading, or deleted): only
			// the seq sidecar keeps the seqs from going back.
			if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			log.fileLost = true
		}
		maxSeq = max(maxSeq, checkAfterCut(t, cut, path, bootPath, log, maxSeq))
		totalAppends += len(log.appended)
		t.Logf("cut %d: %d appends returned, removed through %d, %d removed one by one, %d dead letters, %d reopens; %d writes, %d fsyncs so far",
			cut, len(log.appended), log.removedThrough, len(log.removed), len(log.dead), log.reopens, before.Writes, before.Fsyncs)
	}
	if totalAppends == 0 {
		t.Fatal("no Append returned in any run: the test cut nothing")
	}
}

// writeBootID gives the machine a new boot id.
func writeBootID(t *testing.T, path string, r *rand.Rand) {
	t.Helper()
	if err := os.WriteFile(path, fmt.Appendf(nil, "%016x-%016x\n", r.Uint64(), r.Uint64()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkAfterCut checks the store after a power cut against what the
// child had been told, and returns the largest seq the store holds or
// must not hand out again. The store is opened by another child: this
// process serves the filesystem, and a page fault on a file it serves,
// mapped in its own memory (bbolt maps its file), can deadlock the Go
// runtime (the faulting thread cannot stop for a collection while the
// goroutines that would answer the fault are stopped).
func checkAfterCut(t *testing.T, cut int, path, bootPath string, log cutLog, maxSeq uint64) uint64 {
	t.Helper()
	cmd := childCommand("cutcheck", path)
	cmd.Env = append(cmd.Env, "STORE_TEST_BOOTID="+bootPath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cut %d: the check failed (%v):\n%s", cut, err, stderr.String())
	}
	found := parseCheckLog(string(out))
	if found.next == 0 {
		t.Fatalf("cut %d: the check printed no next seq:\n%s", cut, out)
	}
	highest := maxSeq
	var prev uint64
	for _, seq := range found.queued {
		if seq <= prev {
			t.Fatalf("cut %d: seqs out of order at %d", cut, seq)
		}
		prev = seq
	}
	for seq, id := range found.ids {
		if want, ok := log.appended[seq]; ok && want != id {
			t.Fatalf("cut %d: seq %d holds record %+v, but its Append wrote %+v", cut, seq, id, want)
		}
		highest = max(highest, seq)
	}
	lost := 0
	for seq := range log.appended {
		highest = max(highest, seq)
		if seq <= log.removedThrough || log.removed[seq] || log.dead[seq] || log.fileLost {
			continue
		}
		if _, ok := found.ids[seq]; !ok {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("cut %d: %d records whose Append had returned are gone after the power cut", cut, lost)
	}
	if found.next <= highest {
		t.Fatalf("cut %d: the next seq is %d, but seq %d was handed out already", cut, found.next, highest)
	}
	return highest
}

// cutID names a record cutRecord made.
type cutID struct {
	p       byte
	counter uint64
}

// checkLog is what the check child found.
type checkLog struct {
	queued []uint64         // queued seqs, in store order
	ids    map[uint64]cutID // every queued or dead-lettered record
	next   uint64
}

// parseCheckLog reads "Q <seq> <producer> <counter>" (queued),
// "Z <seq> <producer> <counter>" (dead letter) and "N <next seq>".
func parseCheckLog(out string) checkLog {
	c := checkLog{ids: map[uint64]cutID{}}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var kind string
		var seq, p, counter uint64
		if n, _ := fmt.Sscanf(sc.Text(), "%s %d %d %d", &kind, &seq, &p, &counter); n == 4 && (kind == "Q" || kind == "Z") {
			c.ids[seq] = cutID{byte(p), counter}
			if kind == "Q" {
				c.queued = append(c.queued, seq)
			}
		} else if n == 2 && kind == "N" {
			c.next = seq
		}
	}
	return c
}

// childCutCheck opens the store after a power cut (see checkAfterCut)
// and prints what it holds; any damage, a recovery or a record with
// bytes no Append wrote fails it.
func childCutCheck() int {
	path := os.Getenv("STORE_TEST_PATH")
	if _, err := os.Stat(path); err == nil {
		if err := verifyFile(path); err != nil {
			fmt.Fprintln(os.Stderr, "the file does not check clean:", err)
			return 1
		}
	}
	s, err := Open(path, &Options{LockTimeout: 5 * time.Second, bootIDPath: os.Getenv("STORE_TEST_BOOTID")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	defer s.Close()
	if rec := s.Recovery(); rec != nil {
		fmt.Fprintln(os.Stderr, "the file needed recovery after a power cut:", rec.Err)
		return 1
	}
	recs, err := s.Peek(1 << 20)
	if err != nil {
		fmt.Fprintln(os.Stderr, "peek:", err)
		return 1
	}
	dead, err := s.DeadLetters(1 << 20)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dead letters:", err)
		return 1
	}
	all := make([]Record, 0, len(recs)+len(dead))
	all = append(all, recs...)
	for _, d := range dead {
		all = append(all, d.Record)
	}
	for i, rec := range all {
		p, counter, ok := checkCutRecord(rec.Data)
		if !ok {
			fmt.Fprintf(os.Stderr, "seq %d holds bytes no Append wrote (%d bytes)\n", rec.Seq, len(rec.Data))
			return 1
		}
		kind := "Q"
		if i >= len(recs) {
			kind = "Z"
		}
		fmt.Printf("%s %d %d %d\n", kind, rec.Seq, p, counter)
	}
	fmt.Printf("N %d\n", s.Stats().NextSeq)
	return 0
}

// cutLog is what a power-cut child reported before it was killed.
type cutLog struct {
	ready bool
	// appended maps each seq whose Append returned to its record.
	appended map[uint64]cutID
	// removedThrough is the highest RemoveThrough called (returned or
	// not: one killed in flight may have committed).
	removedThrough uint64
	// removed and dead are the seqs a Remove or DeadLetter was called for.
	removed, dead map[uint64]bool
	reopens       int
	// fileLost: the test deleted the file after the cut, so its records
	// are gone; only seqs are checked.
	fileLost bool
}

// parseCutLog reads the child's lines: "ready", "A <seq> <producer>
// <counter>" (Append returned), "T <seq>" (RemoveThrough called),
// "X <seq>" (Remove called), "D <seq>" (DeadLetter called), "O" (reopened).
// A torn last line is ignored.
func parseCutLog(out string) cutLog {
	l := cutLog{appended: map[uint64]cutID{}, removed: map[uint64]bool{}, dead: map[uint64]bool{}}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		var n []uint64
		for _, s := range f[1:] {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				break
			}
			n = append(n, v)
		}
		switch {
		case f[0] == "ready":
			l.ready = true
		case f[0] == "A" && len(n) == 3:
			l.appended[n[0]] = cutID{byte(n[1]), n[2]}
		case f[0] == "T" && len(n) == 1:
			l.removedThrough = max(l.removedThrough, n[0])
		case f[0] == "X" && len(n) == 1:
			l.removed[n[0]] = true
		case f[0] == "D" && len(n) == 1:
			l.dead[n[0]] = true
		case f[0] == "O":
			l.reopens++
		}
	}
	return l
}

// Power-cut child workload.
const (
	cutProducers   = 3
	cutBatchEvery  = 3 // every third append of a producer is a batch of three
	cutActionPause = 15 * time.Millisecond
)

// childPowerCut runs a random workload until killed (see
// TestPowerCutRandomWorkloads), printing what each call did before (for
// removals) or after (for appends) it happened.
func childPowerCut() int {
	path := os.Getenv("STORE_TEST_PATH")
	seed, _ := strconv.ParseUint(os.Getenv("STORE_TEST_SEED"), 10, 64)
	r := rand.New(rand.NewPCG(seed, 3))
	opts := &Options{LockTimeout: 5 * time.Second, bootIDPath: os.Getenv("STORE_TEST_BOOTID")}
	s, err := Open(path, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL open:", err)
		return 1
	}
	var mu sync.Mutex // serialises output
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stdout, format, args...)
	}
	var gate sync.RWMutex // producers hold it shared; the driver pauses them
	fail := func(what string, err error) {
		fmt.Fprintf(os.Stderr, "FAIL %s: %v\n", what, err)
		os.Exit(1)
	}
	say("ready\n")
	for p := range cutProducers {
		go func() {
			for counter := uint64(0); ; {
				gate.RLock()
				n := 1
				if counter%cutBatchEvery == 0 {
					n = 3
				}
				recs := make([][]byte, n)
				for i := range recs {
					recs[i] = cutRecord(byte(p), counter+uint64(i))
				}
				seqs, err := s.AppendBatch(context.Background(), recs)
				if err != nil {
					fail("append", err)
				}
				for i, seq := range seqs {
					say("A %d %d %d\n", seq, p, counter+uint64(i))
				}
				counter += uint64(n)
				gate.RUnlock()
			}
		}()
	}
	for {
		time.Sleep(cutActionPause)
		gate.Lock()
		recs, err := s.Peek(64)
		if err != nil {
			fail("peek", err)
		}
		switch a := r.IntN(10); {
		case len(recs) == 0:
		case a < 4: // drain a prefix
			through := recs[r.IntN(len(recs))].Seq
			say("T %d\n", through)
			err = s.RemoveThrough(through)
		case a < 6: // remove one from the middle
			seq := recs[r.IntN(len(recs))].Seq
			say("X %d\n", seq)
			err = s.Remove(seq)
		case a < 8: // set the oldest aside
			say("D %d\n", recs[0].Seq)
			err = s.DeadLetter(recs[0].Seq, "power-cut test")
		case a < 9: // drain everything (lets the store compact)
			last := recs[len(recs)-1].Seq
			all, perr := s.Peek(1 << 20)
			if perr == nil && len(all) > 0 {
				last = all[len(all)-1].Seq
			}
			say("T %d\n", last)
			err = s.RemoveThrough(last)
		default: // a clean restart
			if err = s.Close(); err == nil {
				s, err = Open(path, opts)
				say("O\n")
			}
		}
		if err != nil {
			fail("action", err)
		}
		gate.Unlock()
	}
}
