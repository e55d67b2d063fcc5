package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDropOldestMaxRecords(t *testing.T) {
	s, _ := openTest(t, &Options{MaxRecords: 3})
	for i := 0; i < 5; i++ {
		mustAppend(t, s, []byte{byte(i)})
	}
	if got := seqsOf(mustPeek(t, s, 10)); !equalSeqs(got, []uint64{3, 4, 5}) {
		t.Fatalf("queue = %v", got)
	}
	st := s.Stats()
	if st.Count != 3 || st.Drops != (Drops{MaxRecords: 2}) || st.Drops.Total() != 2 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestDropOldestMaxBytes(t *testing.T) {
	// Room for exactly three 100-byte records.
	s, _ := openTest(t, &Options{MaxBytes: int64(3 * storedSize(100))})
	for i := 0; i < 5; i++ {
		mustAppend(t, s, data(i, 100))
	}
	if got := seqsOf(mustPeek(t, s, 10)); !equalSeqs(got, []uint64{3, 4, 5}) {
		t.Fatalf("queue = %v", got)
	}
	// A larger record makes room for itself by dropping as many as needed.
	mustAppend(t, s, data(9, 200))
	if got := seqsOf(mustPeek(t, s, 10)); !equalSeqs(got, []uint64{5, 6}) {
		t.Fatalf("queue = %v", got)
	}
	st := s.Stats()
	if st.Drops != (Drops{MaxBytes: 4}) || st.Bytes != storedSize(100)+storedSize(200) {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestRejectWhenFull(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, &Options{Overflow: Reject, MaxRecords: 3, MaxBytes: int64(4 * storedSize(10))})
	for i := 0; i < 3; i++ {
		mustAppend(t, s, data(i, 10))
	}
	if _, err := s.Append(ctx, data(3, 10)); !errors.Is(err, ErrFull) {
		t.Fatalf("Append at MaxRecords: %v", err)
	}
	if err := s.RemoveThrough(2); err != nil {
		t.Fatal(err)
	}
	// Two slots free: a batch of three is refused whole, a batch of two fits.
	if _, err := s.AppendBatch(ctx, [][]byte{data(4, 10), data(5, 10), data(6, 10)}); !errors.Is(err, ErrFull) {
		t.Fatalf("AppendBatch over MaxRecords: %v", err)
	}
	if got := s.Stats(); got.Count != 1 || got.NextSeq != 4 {
		t.Fatalf("a refused batch left a trace: %+v", got)
	}
	seqs, err := s.AppendBatch(ctx, [][]byte{data(4, 10), data(5, 10)})
	if err != nil || !equalSeqs(seqs, []uint64{4, 5}) {
		t.Fatalf("AppendBatch = %v, %v", seqs, err)
	}
	// MaxBytes (room for 4 records of 10 bytes) also rejects.
	if err := s.RemoveThrough(4); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, data(7, 100)); !errors.Is(err, ErrFull) {
		t.Fatalf("Append over MaxBytes: %v", err)
	}
	if st := s.Stats(); st.Drops.Total() != 0 || st.Count != 1 {
		t.Fatalf("Reject dropped records: %+v", st)
	}
}

func TestTooLarge(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, &Options{MaxBytes: 1000, MaxRecords: 2})
	if _, err := s.Append(ctx, make([]byte, 1000)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Append larger than MaxBytes: %v", err)
	}
	if _, err := s.AppendBatch(ctx, [][]byte{{1}, {2}, {3}}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("AppendBatch of more than MaxRecords: %v", err)
	}
	if _, err := s.Append(ctx, make([]byte, 1000-RecordOverhead)); err != nil {
		t.Fatalf("a record of exactly MaxBytes: %v", err)
	}
}

func TestMaxAge(t *testing.T) {
	clock := newFakeClock()
	path := newPath(t)
	opts := &Options{Clock: clock.Now, MaxAge: time.Hour}
	s := openAt(t, path, opts)
	mustAppend(t, s, []byte("a")) // t0
	clock.Advance(40 * time.Minute)
	mustAppend(t, s, []byte("b")) // t0+40m
	clock.Advance(30 * time.Minute)

	// Stats does not drop; it shows the age.
	if st := s.Stats(); st.Count != 2 || st.OldestAge != 70*time.Minute {
		t.Fatalf("Stats = %+v", st)
	}
	// Peek drops the expired head.
	if got := seqsOf(mustPeek(t, s, 10)); !equalSeqs(got, []uint64{2}) {
		t.Fatalf("Peek after 70 min = %v", got)
	}
	if st := s.Stats(); st.Count != 1 || st.Drops != (Drops{MaxAge: 1}) || st.OldestAge != 30*time.Minute {
		t.Fatalf("Stats = %+v", st)
	}

	// Append drops it too, and the counts survive a restart.
	clock.Advance(31 * time.Minute)
	mustAppend(t, s, []byte("c"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path, opts)
	if got := seqsOf(mustPeek(t, s, 10)); !equalSeqs(got, []uint64{3}) {
		t.Fatalf("after restart = %v", got)
	}
	if st := s.Stats(); st.Drops != (Drops{MaxAge: 2}) {
		t.Fatalf("Drops after restart = %+v", st.Drops)
	}
	// Expiry frees room under Reject too.
	if st := s.Stats(); st.Count != 1 {
		t.Fatalf("Count = %d", st.Count)
	}
}

func TestMaxAgeFreesRoomUnderReject(t *testing.T) {
	clock := newFakeClock()
	s, _ := openTest(t, &Options{Clock: clock.Now, MaxAge: time.Minute, MaxRecords: 1, Overflow: Reject})
	mustAppend(t, s, []byte("a"))
	if _, err := s.Append(context.Background(), []byte("b")); !errors.Is(err, ErrFull) {
		t.Fatalf("second append: %v", err)
	}
	clock.Advance(2 * time.Minute)
	if seq := mustAppend(t, s, []byte("c")); seq != 2 {
		t.Fatalf("seq = %d", seq)
	}
	if st := s.Stats(); st.Drops != (Drops{MaxAge: 1}) || st.Count != 1 {
		t.Fatalf("Stats = %+v", st)
	}
}

// The bbolt MaxSize backstop under Reject: the queue is bounded by the
// share of the file it can use, the file stops growing within its limit
// and Append says ErrFull; after draining, appends work again. (Under
// DropOldest: TestFileCeilingFollowsOverflowPolicy.)
func TestMaxFileSizeBackstop(t *testing.T) {
	const limit = 1 << 20
	s, _ := openTest(t, &Options{MaxFileSize: limit, MaxBytes: 64 << 20, Overflow: Reject})
	ctx := context.Background()
	var err error
	var last uint64
	for i := 0; i < 10_000; i++ {
		var seqs []uint64
		seqs, err = s.AppendBatch(ctx, [][]byte{data(i, 4000), data(i, 4000), data(i, 4000), data(i, 4000)})
		if err != nil {
			break
		}
		last = seqs[3]
	}
	if !errors.Is(err, ErrFull) {
		t.Fatalf("filling past MaxFileSize: %v", err)
	}
	if st := s.Stats(); st.FileSize > limit {
		t.Fatalf("file grew to %d bytes, limit %d", st.FileSize, limit)
	}
	if err := s.RemoveThrough(last); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, data(1, 4000)); err != nil {
		t.Fatalf("Append after draining: %v", err)
	}
}
