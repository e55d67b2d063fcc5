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

	"github.com/sioagent/sioagent/internal/testenv"
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
// every record whose Append had returned must still be queued, with the
// bytes appended, unless a RemoveThrough that had returned covered it;
// every queued record holds bytes a producer wrote; seqs never go back
// and, where the boot id is known, do not skip ahead either.
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
	// With the boot id known, a restart in the same boot trusts the file,
	// and the seqs must not skip ahead.
	sameBoot := readBootID(defaultBootIDPath) != ""
	if !sameBoot {
		if testenv.Required(testenv.RequireBootID) {
			t.Fatalf("no boot id at %q, and %s=1 requires it", defaultBootIDPath, testenv.RequireBootID)
		}
		t.Logf("no boot id at %q: the no-skip-ahead check is off (set %s=1 to make this a failure)", defaultBootIDPath, testenv.RequireBootID)
	}
	for round := 0; round < rounds; round++ {
		cmd := childCommand("append", path)
		var out, stderr testenv.Buffer
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
		present := make(map[uint64][]byte, len(recs))
		for i, rec := range recs {
			present[rec.Seq] = rec.Data
			if i > 0 && rec.Seq <= recs[i-1].Seq {
				t.Fatalf("round %d: order broken at %d", round, rec.Seq)
			}
			// Reported or not, a queued record holds what a producer wrote.
			if err := checkCrashRecord(rec.Data); err != nil {
				t.Fatalf("round %d: seq %d: %v", round, rec.Seq, err)
			}
		}
		lost := 0
		for seq, want := range appended {
			// A RemoveThrough killed before it returned may have
			// committed (it compacts the file after its commit).
			data, ok := present[seq]
			if seq > max(removedThrough, removing) && !ok {
				lost++
			}
			if ok && !bytes.Equal(data, want) {
				t.Fatalf("round %d: seq %d holds %d bytes starting %q, want the %d bytes starting %q that its Append wrote",
					round, seq, len(data), data[:min(len(data), 16)], len(want), want[:16])
			}
			if seq <= maxSeq {
				t.Fatalf("round %d: seq %d reused (an earlier round reached %d)", round, seq, maxSeq)
			}
		}
		if lost > 0 {
			t.Fatalf("round %d: %d records lost whose Append had returned", round, lost)
		}
		next := s.Stats().NextSeq
		for seq := range appended {
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

// crashRecordSize is the size of each record the crash child appends.
const crashRecordSize = 4000

// crashRecord is the record producer p appends the i-th time: a header
// naming both, then a pattern derived from them, so that a record's bytes
// can be checked on their own and against what its Append reported.
func crashRecord(p, i int) []byte {
	rec := fmt.Appendf(make([]byte, 0, crashRecordSize), "p%d i%d ", p, i)
	for j := len(rec); j < crashRecordSize; j++ {
		rec = append(rec, byte((p*31+i+j)%251))
	}
	return rec
}

// checkCrashRecord reports whether data is a record crashRecord made.
func checkCrashRecord(data []byte) error {
	var p, i int
	if _, err := fmt.Sscanf(string(data[:min(len(data), 32)]), "p%d i%d ", &p, &i); err != nil {
		return fmt.Errorf("%d bytes starting %q: not a record a producer wrote (%v)", len(data), data[:min(len(data), 16)], err)
	}
	if want := crashRecord(p, i); !bytes.Equal(data, want) {
		return fmt.Errorf("%d bytes starting %q: damaged (want %d bytes)", len(data), data[:min(len(data), 16)], len(want))
	}
	return nil
}

// parseChildLog reads the child's "A <seq> <producer> <i>" (Append
// returned seq for crashRecord(producer, i)), "P <seq>" (RemoveThrough
// called), "R <seq>" (RemoveThrough returned) and "C <n>" (compactions so
// far) lines; a torn last line is ignored.
func parseChildLog(t *testing.T, log string) (appended map[uint64][]byte, removedThrough, removing, compactions uint64) {
	t.Helper()
	appended = map[uint64][]byte{}
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		line := sc.Text()
		var seq uint64
		switch {
		case strings.HasPrefix(line, "A "):
			var p, i int
			if _, err := fmt.Sscanf(line, "A %d %d %d", &seq, &p, &i); err == nil {
				appended[seq] = crashRecord(p, i)
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
	}
	// sayAppended prints one line per seq (one write each, so a kill tears
	// at most the last).
	sayAppended := func(seq uint64, p, i int) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stdout, "A %d %d %d\n", seq, p, i)
		latest = max(latest, seq)
	}
	fmt.Println("ready")
	// appendOnce appends crashRecord(p, i) alone, or with the two next
	// ones in one AppendBatch, and returns the next i.
	appendOnce := func(p, i int, batch bool) int {
		gate.RLock()
		defer gate.RUnlock()
		var seqs []uint64
		var err error
		if batch {
			seqs, err = s.AppendBatch(context.Background(), [][]byte{crashRecord(p, i), crashRecord(p, i+1), crashRecord(p, i+2)})
		} else {
			var seq uint64
			seq, err = s.Append(context.Background(), crashRecord(p, i))
			seqs = []uint64{seq}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "append:", err)
			os.Exit(1)
		}
		for k, seq := range seqs {
			sayAppended(seq, p, i+k)
		}
		return i + len(seqs)
	}
	for p := 0; p < 4; p++ {
		go func() {
			for i, n := 0, 0; ; n++ {
				i = appendOnce(p, i, n%3 == 0)
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
