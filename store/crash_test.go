package store

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// defaultCrashRounds is how many times TestKillDuringAppends kills its
// child; STORE_CRASH_ROUNDS overrides it.
const defaultCrashRounds = 8

// maxUnreported bounds the records a killed child may have committed
// without printing their seqs: each of its four producers has at most
// one Append or AppendBatch (of three) in flight.
const maxUnreported = 4 * 3

// TestKillDuringAppends kills (SIGKILL) a child process that appends,
// with several producers, and drains while the file is compacted now and
// then. After every kill the file must pass the consistency check, and
// every record whose Append had returned must still be queued unless a
// RemoveThrough that had returned covered it; seqs never go back and,
// where the boot id is known, do not skip ahead either.
func TestKillDuringAppends(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	rounds := defaultCrashRounds
	if v, err := strconv.Atoi(os.Getenv("STORE_CRASH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	path := newPath(t)
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	var maxSeq uint64 // the largest seq any child saw
	// With the boot id known, a restart in the same boot trusts the file.
	sameBoot := readBootID(defaultBootIDPath) != ""
	for round := 0; round < rounds; round++ {
		cmd := childCommand("append", path)
		var out, stderr syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Start(); err != nil {
			skipIfCannotExec(t, err)
			t.Fatal(err)
		}
		// Wait for the child to be appending, then kill it at a random point.
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), "ready") && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Duration(50+r.IntN(300)) * time.Millisecond)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()

		appended, removedThrough, removing, compactions := parseChildLog(t, out.String())
		if len(appended) == 0 {
			t.Fatalf("round %d: the child appended nothing; stderr:\n%s", round, stderr.String())
		}
		if err := verifyFile(path); err != nil {
			t.Fatalf("round %d: file damaged after kill: %v", round, err)
		}
		s, err := Open(path, &Options{LockTimeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("round %d: Open after kill: %v", round, err)
		}
		if s.Recovery() != nil {
			t.Fatalf("round %d: recovery after kill: %v", round, s.Recovery().Err)
		}
		recs, err := s.Peek(1 << 20)
		if err != nil {
			t.Fatal(err)
		}
		present := make(map[uint64]bool, len(recs))
		for i, rec := range recs {
			present[rec.Seq] = true
			if i > 0 && rec.Seq <= recs[i-1].Seq {
				t.Fatalf("round %d: order broken at %d", round, rec.Seq)
			}
		}
		lost := 0
		for _, seq := range appended {
			// A RemoveThrough killed before it returned may have
			// committed (it compacts the file after its commit).
			if seq > max(removedThrough, removing) && !present[seq] {
				lost++
			}
			if seq <= maxSeq {
				t.Fatalf("round %d: seq %d reused (an earlier round reached %d)", round, seq, maxSeq)
			}
		}
		if lost > 0 {
			t.Fatalf("round %d: %d records lost whose Append had returned", round, lost)
		}
		next := s.Stats().NextSeq
		for _, seq := range appended {
			maxSeq = max(maxSeq, seq)
		}
		if next <= maxSeq {
			t.Fatalf("round %d: NextSeq %d after seq %d was returned", round, next, maxSeq)
		}
		// Killed in the same boot: the seqs go on without a gap (beyond
		// the records committed but not yet reported when the kill came).
		if sameBoot && next-1 > maxSeq+maxUnreported {
			t.Fatalf("round %d: NextSeq %d after a kill; the last seq returned was %d: the seqs skipped ahead", round, next, maxSeq)
		}
		maxSeq = next - 1
		if _, err := os.Stat(path + compactSuffix); err == nil {
			t.Fatalf("round %d: compaction leftover not removed", round)
		}
		t.Logf("round %d: %d appends acknowledged, removed through %d, %d queued, %d compactions in the child, file %d bytes",
			round, len(appended), removedThrough, len(recs), compactions, s.Stats().FileSize)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// syncBuffer is a bytes.Buffer that the test may read while the child's
// output is being copied into it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// parseChildLog reads the child's "A <seq>" (Append returned),
// "P <seq>" (RemoveThrough called), "R <seq>" (RemoveThrough returned)
// and "C <n>" (compactions so far) lines; a torn last line is ignored.
func parseChildLog(t *testing.T, log string) (appended []uint64, removedThrough, removing, compactions uint64) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		line := sc.Text()
		var seq uint64
		switch {
		case strings.HasPrefix(line, "A "):
			if _, err := fmt.Sscanf(line, "A %d", &seq); err == nil {
				appended = append(appended, seq)
			}
		case strings.HasPrefix(line, "C "):
			if _, err := fmt.Sscanf(line, "C %d", &seq); err == nil {
				compactions = seq
			}
		case strings.HasPrefix(line, "P "):
			if _, err := fmt.Sscanf(line, "P %d", &seq); err == nil {
				removing = max(removing, seq)
			}
		case strings.HasPrefix(line, "R "):
			if _, err := fmt.Sscanf(line, "R %d", &seq); err == nil {
				removedThrough = max(removedThrough, seq)
			}
		}
	}
	return appended, removedThrough, removing, compactions
}

// childAppend appends from four producers until killed, printing each
// returned seq. Every 150 ms a drainer pauses the producers and removes
// through the latest seq, which empties the queue and lets the store
// compact the file when it has grown past 1 MiB.
func childAppend() int {
	s, err := Open(os.Getenv("STORE_TEST_PATH"), &Options{LockTimeout: 5 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	var mu sync.Mutex
	var latest uint64
	var gate sync.RWMutex // producers hold it shared; the drainer pauses them
	say := func(format string, seq uint64) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stdout, format, seq)
		if format == "A %d\n" {
			latest = max(latest, seq)
		}
	}
	fmt.Println("ready")
	appendOnce := func(rec []byte, batch bool) {
		gate.RLock()
		defer gate.RUnlock()
		var seqs []uint64
		var err error
		if batch {
			seqs, err = s.AppendBatch(context.Background(), [][]byte{rec, rec, rec})
		} else {
			var seq uint64
			seq, err = s.Append(context.Background(), rec)
			seqs = []uint64{seq}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "append:", err)
			os.Exit(1)
		}
		for _, seq := range seqs {
			say("A %d\n", seq)
		}
	}
	for p := 0; p < 4; p++ {
		go func() {
			rec := bytes.Repeat([]byte{byte(p)}, 4000)
			for i := 0; ; i++ {
				appendOnce(rec, i%3 == 0)
			}
		}()
	}
	for {
		time.Sleep(150 * time.Millisecond)
		gate.Lock()
		mu.Lock()
		through := latest
		mu.Unlock()
		say("P %d\n", through)
		if err := s.RemoveThrough(through); err != nil {
			fmt.Fprintln(os.Stderr, "remove:", err)
			return 1
		}
		say("R %d\n", through)
		fmt.Printf("C %d\n", s.Stats().Compactions)
		gate.Unlock()
	}
}
