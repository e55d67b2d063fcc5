package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

// appendConcurrently runs n Appends at once and returns their seqs.
func appendConcurrently(t *testing.T, s *Store, n int) []uint64 {
	t.Helper()
	var wg sync.WaitGroup
	seqs := make([]uint64, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			seq, err := s.Append(context.Background(), data(i, 600))
			if err != nil {
				t.Errorf("Append: %v", err)
			}
			seqs[i] = seq
		}()
	}
	close(start)
	wg.Wait()
	return seqs
}

func TestGroupCommitGroups(t *testing.T) {
	s, _ := openTest(t, nil)
	before := s.Stats().Commits
	const n = 100
	seqs := appendConcurrently(t, s, n)
	commits := s.Stats().Commits - before
	t.Logf("%d concurrent appends took %d transactions", n, commits)
	if commits > n/4 {
		t.Errorf("%d concurrent appends took %d transactions; group commit should need far fewer", n, commits)
	}
	seen := map[uint64]bool{}
	for _, seq := range seqs {
		if seq == 0 || seq > n || seen[seq] {
			t.Fatalf("bad or duplicate seq %d", seq)
		}
		seen[seq] = true
	}
	if st := s.Stats(); st.Count != n {
		t.Fatalf("Count = %d", st.Count)
	}
}

// With MaxRecords 1 every append is its own transaction (the baseline of
// BenchmarkAppendOneTxPerRecord).
func TestGroupCommitDisabled(t *testing.T) {
	s, _ := openTest(t, &Options{GroupCommit: GroupCommit{MaxRecords: 1, MaxDelay: -1}})
	before := s.Stats().Commits
	appendConcurrently(t, s, 20)
	if commits := s.Stats().Commits - before; commits != 20 {
		t.Fatalf("20 appends took %d transactions, want 20", commits)
	}
}

// A sequential producer with MaxDelay < 0 never waits for company.
func TestGroupCommitNoDelaySequential(t *testing.T) {
	s, _ := openTest(t, &Options{GroupCommit: GroupCommit{MaxDelay: -1}})
	before := s.Stats().Commits
	for i := 0; i < 10; i++ {
		mustAppend(t, s, data(i, 10))
	}
	if commits := s.Stats().Commits - before; commits != 10 {
		t.Fatalf("10 sequential appends took %d transactions", commits)
	}
}

// OnCommit is called once per commit with its duration, and Syncs counts
// bbolt's two fdatasyncs per commit.
func TestOnCommitAndSyncs(t *testing.T) {
	var mu sync.Mutex
	var took []time.Duration
	s, _ := openTest(t, &Options{OnCommit: func(d time.Duration) {
		mu.Lock()
		took = append(took, d)
		mu.Unlock()
	}})
	// The first append reserves a block of seqs in the sidecar (two more
	// fsyncs); the next ones draw on it.
	if _, err := s.Append(context.Background(), []byte("first")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	took = nil
	mu.Unlock()
	before := s.Stats()
	for i := range 3 {
		if _, err := s.Append(context.Background(), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	after := s.Stats()
	mu.Lock()
	defer mu.Unlock()
	commits := after.Commits - before.Commits
	if commits == 0 || uint64(len(took)) != commits {
		t.Fatalf("%d commits, OnCommit called %d times", commits, len(took))
	}
	for _, d := range took {
		if d <= 0 {
			t.Errorf("commit took %v", d)
		}
	}
	if got := after.Syncs - before.Syncs; got != bboltSyncsPerCommit*commits {
		t.Errorf("%d syncs for %d commits, want %d", got, commits, bboltSyncsPerCommit*commits)
	}
}
