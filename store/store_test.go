package store

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func seqsOf(recs []Record) []uint64 {
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}

func equalSeqs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func mustAppend(t testing.TB, s *Store, d []byte) uint64 {
	t.Helper()
	seq, err := s.Append(context.Background(), d)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return seq
}

func mustPeek(t testing.TB, s *Store, n int) []Record {
	t.Helper()
	recs, err := s.Peek(n)
	if err != nil {
		t.Fatalf("Peek: %v", err)
	}
	return recs
}

func TestAppendPeekRemove(t *testing.T) {
	clock := newFakeClock()
	s, _ := openTest(t, &Options{Clock: clock.Now})
	ctx := context.Background()

	if recs := mustPeek(t, s, 10); len(recs) != 0 {
		t.Fatalf("empty store peeked %d records", len(recs))
	}
	for i := 1; i <= 3; i++ {
		if seq := mustAppend(t, s, []byte{byte(i)}); seq != uint64(i) {
			t.Fatalf("Append %d: seq %d", i, seq)
		}
	}
	recs := mustPeek(t, s, 2)
	if got := seqsOf(recs); !equalSeqs(got, []uint64{1, 2}) {
		t.Fatalf("Peek(2) = %v", got)
	}
	if !bytes.Equal(recs[1].Data, []byte{2}) || !recs[1].Appended.Equal(clock.Now()) {
		t.Fatalf("record 2 = %+v", recs[1])
	}
	// Data is a copy: changing it does not change the store.
	recs[0].Data[0] = 99
	if again := mustPeek(t, s, 1); again[0].Data[0] != 1 {
		t.Fatal("Peek returned data aliasing the store")
	}
	if got := seqsOf(mustPeek(t, s, 10)); !equalSeqs(got, []uint64{1, 2, 3}) {
		t.Fatalf("Peek(10) = %v", got)
	}
	if err := s.Remove(2); err != nil {
		t.Fatal(err)
	}
	if got := seqsOf(mustPeek(t, s, 10)); !equalSeqs(got, []uint64{1, 3}) {
		t.Fatalf("after Remove(2): %v", got)
	}
	st := s.Stats()
	if st.Count != 2 || st.Bytes != 2*storedSize(1) || st.NextSeq != 4 {
		t.Fatalf("Stats = %+v", st)
	}
	if _, err := s.Append(ctx, nil); err != nil {
		t.Fatal(err)
	}
	recs = mustPeek(t, s, 10)
	if last := recs[len(recs)-1]; last.Seq != 4 || last.Data == nil || len(last.Data) != 0 {
		t.Fatalf("empty record read back as %+v", last)
	}
}

func TestPeekZeroAndNegative(t *testing.T) {
	s, _ := openTest(t, nil)
	mustAppend(t, s, []byte("x"))
	for _, n := range []int{0, -1} {
		if recs, err := s.Peek(n); err != nil || len(recs) != 0 {
			t.Fatalf("Peek(%d) = %v, %v", n, recs, err)
		}
	}
}

func TestAppendBatch(t *testing.T) {
	s, _ := openTest(t, nil)
	ctx := context.Background()
	mustAppend(t, s, []byte("first"))
	seqs, err := s.AppendBatch(ctx, [][]byte{[]byte("a"), []byte("b"), []byte("c")})
	if err != nil {
		t.Fatal(err)
	}
	if !equalSeqs(seqs, []uint64{2, 3, 4}) {
		t.Fatalf("AppendBatch seqs = %v", seqs)
	}
	if seqs, err := s.AppendBatch(ctx, nil); seqs != nil || err != nil {
		t.Fatalf("empty AppendBatch = %v, %v", seqs, err)
	}
	recs := mustPeek(t, s, 10)
	if got := seqsOf(recs); !equalSeqs(got, []uint64{1, 2, 3, 4}) || string(recs[3].Data) != "c" {
		t.Fatalf("Peek = %v", got)
	}
}

func TestPeekAfter(t *testing.T) {
	s, _ := openTest(t, nil)
	for i := 0; i < 10; i++ {
		mustAppend(t, s, []byte{byte(i)})
	}
	for _, tc := range []struct {
		after uint64
		n     int
		want  []uint64
	}{
		{0, 3, []uint64{1, 2, 3}},
		{3, 3, []uint64{4, 5, 6}},
		{8, 5, []uint64{9, 10}},
		{10, 5, nil},
		{^uint64(0), 5, nil},
	} {
		recs, err := s.PeekAfter(tc.after, tc.n)
		if err != nil || !equalSeqs(seqsOf(recs), tc.want) {
			t.Errorf("PeekAfter(%d, %d) = %v, %v; want %v", tc.after, tc.n, seqsOf(recs), err, tc.want)
		}
	}
}

func TestRemoveThrough(t *testing.T) {
	s, _ := openTest(t, nil)
	for i := 0; i < 10; i++ {
		mustAppend(t, s, []byte{byte(i)})
	}
	if err := s.Remove(5, 6); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveThrough(7); err != nil {
		t.Fatal(err)
	}
	if got := seqsOf(mustPeek(t, s, 10)); !equalSeqs(got, []uint64{8, 9, 10}) {
		t.Fatalf("after RemoveThrough(7): %v", got)
	}
	commits := s.Stats().Commits
	// Nothing at or below 7 is left: no transaction is committed.
	if err := s.RemoveThrough(7); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(1, 2, 1000); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().Commits; got != commits {
		t.Fatalf("no-op removals committed %d transactions", got-commits)
	}
	if err := s.RemoveThrough(^uint64(0)); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Count != 0 || st.Bytes != 0 || st.OldestAge != 0 {
		t.Fatalf("drained Stats = %+v", st)
	}
}

func TestDeadLetter(t *testing.T) {
	clock := newFakeClock()
	s, _ := openTest(t, &Options{Clock: clock.Now, MaxDeadLetters: 2})
	for i := 1; i <= 4; i++ {
		mustAppend(t, s, []byte{byte(i)})
	}
	clock.Advance(time.Minute)
	if err := s.DeadLetter(2, "bad_args: pin not an output"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeadLetter(2, "again"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DeadLetter of a missing seq: %v", err)
	}
	if got := seqsOf(mustPeek(t, s, 10)); !equalSeqs(got, []uint64{1, 3, 4}) {
		t.Fatalf("queue after DeadLetter: %v", got)
	}
	dead, err := s.DeadLetters(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Seq != 2 || dead[0].Reason != "bad_args: pin not an output" ||
		!bytes.Equal(dead[0].Data, []byte{2}) || !dead[0].DeadLettered.Equal(clock.Now()) ||
		!dead[0].Appended.Equal(clock.Now().Add(-time.Minute)) {
		t.Fatalf("DeadLetters = %+v", dead)
	}
	// Bounded: beyond MaxDeadLetters the lowest seqs go, still counted.
	for _, seq := range []uint64{1, 3} {
		if err := s.DeadLetter(seq, string(bytes.Repeat([]byte("r"), 5000))); err != nil {
			t.Fatal(err)
		}
	}
	dead, _ = s.DeadLetters(10)
	if got := []uint64{dead[0].Seq, dead[1].Seq}; len(dead) != 2 || !equalSeqs(got, []uint64{2, 3}) {
		t.Fatalf("bounded DeadLetters = %v", got)
	}
	if len(dead[1].Reason) != maxReasonLen {
		t.Fatalf("reason kept %d bytes", len(dead[1].Reason))
	}
	st := s.Stats()
	if st.Count != 1 || st.DeadLetters != 2 || st.DeadLettered != 3 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestWait(t *testing.T) {
	s, path := openTest(t, nil)
	wake := s.Wait()
	select {
	case <-wake:
		t.Fatal("Wait channel closed before any append")
	default:
	}
	mustAppend(t, s, []byte("x"))
	select {
	case <-wake:
	case <-time.After(5 * time.Second):
		t.Fatal("Wait channel not closed by Append")
	}
	next := s.Wait()
	if next == wake {
		t.Fatal("Wait returned the used channel")
	}
	// Removals do not wake waiters.
	if err := s.RemoveThrough(1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-next:
		t.Fatal("Wait channel closed by a removal")
	default:
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-next:
	default:
		t.Fatal("Wait channel not closed by Close")
	}
	select {
	case <-s.Wait():
	default:
		t.Fatal("Wait after Close returned an open channel")
	}
	_ = path
}

func TestClosed(t *testing.T) {
	s, _ := openTest(t, nil)
	mustAppend(t, s, []byte("x"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := context.Background()
	if _, err := s.Append(ctx, []byte("y")); !errors.Is(err, ErrClosed) {
		t.Errorf("Append: %v", err)
	}
	if _, err := s.AppendBatch(ctx, [][]byte{{1}}); !errors.Is(err, ErrClosed) {
		t.Errorf("AppendBatch: %v", err)
	}
	if _, err := s.Peek(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Peek: %v", err)
	}
	if err := s.Remove(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Remove: %v", err)
	}
	if err := s.RemoveThrough(1); !errors.Is(err, ErrClosed) {
		t.Errorf("RemoveThrough: %v", err)
	}
	if err := s.DeadLetter(1, "x"); !errors.Is(err, ErrClosed) {
		t.Errorf("DeadLetter: %v", err)
	}
	if _, err := s.DeadLetters(1); !errors.Is(err, ErrClosed) {
		t.Errorf("DeadLetters: %v", err)
	}
	if st := s.Stats(); st.Count != 1 {
		t.Errorf("Stats after Close = %+v", st)
	}
}

// Close commits what was submitted; every Append either returned a seq
// (and the record is in the file) or ErrClosed (and it is not).
func TestCloseFlushesPendingAppends(t *testing.T) {
	path := newPath(t)
	s, err := Open(path, &Options{GroupCommit: GroupCommit{MaxDelay: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	var wg sync.WaitGroup
	seqs := make(chan uint64, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seq, err := s.Append(context.Background(), data(i, 16))
			switch {
			case err == nil:
				seqs <- seq
			case !errors.Is(err, ErrClosed):
				t.Errorf("Append: %v", err)
			}
		}()
	}
	time.Sleep(10 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(seqs)

	s = openAt(t, path, nil)
	present := map[uint64]bool{}
	for _, r := range mustPeek(t, s, n) {
		present[r.Seq] = true
	}
	acked := 0
	for seq := range seqs {
		acked++
		if !present[seq] {
			t.Errorf("seq %d returned by Append but missing after Close", seq)
		}
	}
	if acked != len(present) {
		t.Errorf("%d appends returned a seq, %d records in the file", acked, len(present))
	}
	if acked == 0 {
		t.Error("no Append completed before Close")
	}
}

func TestContextCancelled(t *testing.T) {
	s, _ := openTest(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Append(ctx, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a cancelled context: %v", err)
	}
	if st := s.Stats(); st.Count != 0 || st.NextSeq != 1 {
		t.Fatalf("a cancelled append was stored: %+v", st)
	}
}

func TestFIFOAndSeqsAcrossReopen(t *testing.T) {
	path := newPath(t)
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want []uint64
	for i := 0; i < 20; i++ {
		want = append(want, mustAppend(t, s, data(i, 32)))
	}
	if err := s.Remove(want[0], want[5]); err != nil {
		t.Fatal(err)
	}
	want = append(want[1:5], want[6:]...)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := seqsOf(mustPeek(t, s, 100)); !equalSeqs(got, want) {
		t.Fatalf("after reopen: %v, want %v", got, want)
	}
	// Drain completely, reopen: seqs continue, never restart.
	if err := s.RemoveThrough(want[len(want)-1]); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path, nil)
	if seq := mustAppend(t, s, []byte("x")); seq != 21 {
		t.Fatalf("first seq after draining and reopening = %d, want 21", seq)
	}
}

func TestStatsMatchFullScan(t *testing.T) {
	clock := newFakeClock()
	s, _ := openTest(t, &Options{Clock: clock.Now, MaxRecords: 30})
	ctx := context.Background()
	for i := 0; i < 50; i++ {
		if _, err := s.AppendBatch(ctx, [][]byte{data(i, i%7), data(i, 100)}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
		if i%5 == 0 {
			recs := mustPeek(t, s, 3)
			if err := s.Remove(recs[0].Seq); err != nil {
				t.Fatal(err)
			}
		}
		if i%11 == 0 {
			recs := mustPeek(t, s, 1)
			if err := s.DeadLetter(recs[0].Seq, "test"); err != nil {
				t.Fatal(err)
			}
		}
		st := s.Stats()
		count, size, next := scanStats(t, s)
		if st.Count != count || st.Bytes != size || st.NextSeq != next {
			t.Fatalf("step %d: Stats %d records %d bytes next %d; scan %d, %d, %d",
				i, st.Count, st.Bytes, st.NextSeq, count, size, next)
		}
		var want time.Duration
		if recs := mustPeek(t, s, 1); len(recs) > 0 {
			want = clock.Now().Sub(recs[0].Appended)
		}
		if st.OldestAge != want {
			t.Fatalf("step %d: OldestAge %v, want %v", i, st.OldestAge, want)
		}
	}
	if st := s.Stats(); st.FileSize <= 0 || st.Drops.MaxRecords == 0 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestOptionsValidation(t *testing.T) {
	for _, o := range []Options{
		{MaxBytes: -1}, {MaxRecords: -1}, {MaxAge: -1}, {Overflow: 7},
		{LockTimeout: -1}, {GroupCommit: GroupCommit{MaxRecords: -1}}, {MaxDeadLetters: -1},
	} {
		if _, err := Open(newPath(t), &o); err == nil {
			t.Errorf("Open accepted %+v", o)
		}
	}
	// The caller's Options are not modified.
	o := Options{MaxRecords: 5}
	openTest(t, &o)
	if o.MaxBytes != 0 || o.LockTimeout != 0 || o.GroupCommit != (GroupCommit{}) || o.Clock != nil || o.Logger != nil {
		t.Errorf("Open modified its Options: %+v", o)
	}
}

func TestFileSizeLimit(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		set      int64
		maxBytes uint64
		want     int
	}{
		{0, DefaultMaxBytes, 256 * mib},
		{0, 1 * mib, 64 * mib},
		{0, 32 * mib, 128 * mib},
		{0, 100 * mib, 256 * mib},
		{0, 1 << 40, 256 * mib},
		{-1, DefaultMaxBytes, 0},
		{10 * mib, DefaultMaxBytes, 10 * mib},
	} {
		if got := fileSizeLimit(tc.set, tc.maxBytes); got != tc.want {
			t.Errorf("fileSizeLimit(%d, %d) = %d, want %d", tc.set, tc.maxBytes, got, tc.want)
		}
	}
}

func TestOverflowString(t *testing.T) {
	if DropOldest.String() != "drop-oldest" || Reject.String() != "reject" || Overflow(9).String() != "Overflow(9)" {
		t.Fatal("Overflow.String")
	}
}

func TestCreatesDirectory(t *testing.T) {
	path := t.TempDir() + "/a/b/outbox.db"
	t.Cleanup(func() { checkFile(t, path) })
	s := openAt(t, path, nil)
	mustAppend(t, s, []byte("x"))
}
