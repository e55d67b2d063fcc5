package store

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sioagent/sioagent/internal/testenv"
)

// Dead letters are never deleted silently: each one a bound discards (by
// count or by bytes) is counted, survives a restart in the counters, and
// is logged with its seq and the bound.
func TestDeadLetterDiscardsCountedAndLogged(t *testing.T) {
	var logs testenv.Buffer
	path := newPath(t)
	opts := &Options{MaxDeadLetters: 3, MaxDeadLetterBytes: 2500, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	first := s
	t.Cleanup(func() { first.Close() }) // idempotent: after a failure too
	for i := 1; i <= 10; i++ {
		mustAppend(t, s, bytes.Repeat([]byte{byte(i)}, 1000))
	}
	// Three of 1 KiB exceed 2500 bytes: by bytes, only two are kept.
	for seq := uint64(1); seq <= 3; seq++ {
		if err := s.DeadLetter(seq, "refused"); err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if st.DeadLetters != 2 || st.DeadLetterBytes > 2500 || st.DeadLettersDiscarded != 1 || st.DeadLettered != 3 {
		t.Fatalf("after the byte bound: %d kept (%d bytes), %d discarded, %d dead-lettered", st.DeadLetters, st.DeadLetterBytes, st.DeadLettersDiscarded, st.DeadLettered)
	}
	if !strings.Contains(logs.String(), "seq=1 ") || !strings.Contains(logs.String(), "bound="+DiscardMaxDeadLetterBytes) {
		t.Fatalf("the discard of seq 1 by bytes was not logged:\n%s", logs.String())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// By count, after a restart with a larger byte bound.
	opts.MaxDeadLetterBytes = 1 << 20
	s = openAt(t, path, opts)
	for seq := uint64(4); seq <= 6; seq++ {
		if err := s.DeadLetter(seq, "refused"); err != nil {
			t.Fatal(err)
		}
	}
	st = s.Stats()
	if st.DeadLetters != 3 || st.DeadLettersDiscarded != 3 || st.DeadLettered != 6 {
		t.Fatalf("after the count bound: %d kept, %d discarded, %d dead-lettered", st.DeadLetters, st.DeadLettersDiscarded, st.DeadLettered)
	}
	for _, seq := range []uint64{2, 3} {
		if !strings.Contains(logs.String(), fmt.Sprintf("seq=%d bytes=", seq)) {
			t.Errorf("the discard of seq %d was not logged", seq)
		}
	}
	if !strings.Contains(logs.String(), "bound="+DiscardMaxDeadLetters) {
		t.Errorf("no discard by count logged:\n%s", logs.String())
	}
	dead, err := s.DeadLetters(10)
	if err != nil || len(dead) != 3 || dead[0].Seq != 4 {
		t.Fatalf("kept %+v (%v), want seqs 4-6", dead, err)
	}
}

// RequeueDeadLetter puts a dead letter back with a new seq above every
// seq handed out, in one transaction; DropDeadLetter deletes one, counted.
func TestRequeueAndDropDeadLetter(t *testing.T) {
	path := newPath(t)
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := s
	t.Cleanup(func() { first.Close() }) // idempotent: after a failure too
	for i := 1; i <= 4; i++ {
		mustAppend(t, s, []byte{byte(i)})
	}
	for _, seq := range []uint64{2, 3} {
		if err := s.DeadLetter(seq, "refused"); err != nil {
			t.Fatal(err)
		}
	}
	var seen DeadRecord
	newSeq, err := s.RequeueDeadLetter(2, func(d DeadRecord) ([]byte, error) {
		seen = d
		return append([]byte("again:"), d.Data...), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if newSeq != 5 || seen.Seq != 2 || !bytes.Equal(seen.Data, []byte{2}) || seen.Reason != "refused" {
		t.Fatalf("requeued as %d from %+v, want 5 from seq 2", newSeq, seen)
	}
	if got := seqsOf(mustPeek(t, s, 10)); !equalSeqs(got, []uint64{1, 4, 5}) {
		t.Fatalf("queue %v", got)
	}
	if recs := mustPeek(t, s, 10); !bytes.Equal(recs[2].Data, []byte("again:\x02")) {
		t.Fatalf("requeued data %q", recs[2].Data)
	}
	if _, err := s.DeadLetterBySeq(2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("dead letter 2 after requeue: %v", err)
	}
	if _, err := s.RequeueDeadLetter(2, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("requeue twice: %v", err)
	}
	boom := errors.New("boom")
	if _, err := s.RequeueDeadLetter(3, func(DeadRecord) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("requeue with a failing rewrite: %v", err)
	}
	if d, err := s.DeadLetterBySeq(3); err != nil || d.Reason != "refused" {
		t.Fatalf("dead letter 3 after a failed requeue: %+v, %v", d, err)
	}
	if err := s.DropDeadLetter(3); err != nil {
		t.Fatal(err)
	}
	if err := s.DropDeadLetter(3); !errors.Is(err, ErrNotFound) {
		t.Fatalf("drop twice: %v", err)
	}
	want := func(s *Store) {
		t.Helper()
		st := s.Stats()
		if st.DeadLetters != 0 || st.DeadLetterBytes != 0 || st.DeadLettersRequeued != 1 || st.DeadLettersDropped != 1 || st.Count != 3 || st.NextSeq != 6 {
			t.Fatalf("Stats = %+v", st)
		}
	}
	want(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	want(openAt(t, path, nil))
}

// A file written with the version 1 meta record (before the dead-letter
// drop counters) opens with its counters kept.
func TestMetaVersion1Read(t *testing.T) {
	m := meta{count: 1, bytes: 2, deadTotal: 7, quarTotal: 9}
	m.drops.MaxAge = 3
	v := m.encode()
	v1 := append([]byte{metaVersionV1}, v[1:metaV1Size]...)
	var got meta
	if err := got.decode(v1); err != nil {
		t.Fatal(err)
	}
	if got != m {
		t.Fatalf("decoded %+v, want %+v", got, m)
	}
	m.deadDropped = 4
	if err := got.decode(m.encode()); err != nil || got != m {
		t.Fatalf("version 2: %+v, %v", got, err)
	}
}
