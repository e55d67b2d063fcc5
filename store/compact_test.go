package store

import (
	"context"
	"errors"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestCompactionWhenDrained(t *testing.T) {
	path := newPath(t)
	s := openAt(t, path, nil)
	ctx := context.Background()
	var last uint64
	for i := 0; i < 30; i++ { // 30 x 100 x 600 bytes: about 2 MiB
		batch := make([][]byte, 100)
		for j := range batch {
			batch[j] = data(i*100+j, 600)
		}
		seqs, err := s.AppendBatch(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		last = seqs[len(seqs)-1]
	}
	if err := s.DeadLetter(last, "kept across compaction"); err != nil {
		t.Fatal(err)
	}
	before := s.Stats()
	if before.FileSize < compactMinFileSize {
		t.Fatalf("file only %d bytes", before.FileSize)
	}

	// Not yet empty: no compaction.
	if err := s.RemoveThrough(last - 2); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Compactions != 0 {
		t.Fatal("compacted a non-empty queue")
	}
	// Drained: compacted.
	if err := s.RemoveThrough(last); err != nil {
		t.Fatal(err)
	}
	after := s.Stats()
	t.Logf("file %d -> %d bytes", before.FileSize, after.FileSize)
	if after.Compactions != 1 || after.FileSize >= before.FileSize/4 {
		t.Fatalf("after draining: %+v", after)
	}
	if after.NextSeq != last+1 || after.DeadLetters != 1 || after.DeadLettered != 1 {
		t.Fatalf("counters after compaction: %+v", after)
	}
	if dead, err := s.DeadLetters(5); err != nil || len(dead) != 1 || dead[0].Seq != last {
		t.Fatalf("DeadLetters after compaction = %v, %v", dead, err)
	}

	// The compacted file is still locked against a second opener.
	if s2, err := Open(path, &Options{LockTimeout: 100 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		if err == nil {
			s2.Close()
		}
		t.Fatalf("second Open after compaction: %v, want ErrLocked", err)
	}

	// Seqs continue after compaction, and after a reopen.
	if seq := mustAppend(t, s, []byte("x")); seq != last+1 {
		t.Fatalf("seq after compaction = %d, want %d", seq, last+1)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path, nil)
	if seq := mustAppend(t, s, []byte("y")); seq != last+2 {
		t.Fatalf("seq after reopen = %d, want %d", seq, last+2)
	}
	if got := seqsOf(mustPeek(t, s, 10)); !equalSeqs(got, []uint64{last + 1, last + 2}) {
		t.Fatalf("queue = %v", got)
	}
}

// A small drained file is left alone.
func TestNoCompactionOfSmallFile(t *testing.T) {
	s, _ := openTest(t, nil)
	for i := 0; i < 10; i++ {
		mustAppend(t, s, data(i, 100))
	}
	if err := s.RemoveThrough(10); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Compactions != 0 {
		t.Fatal("compacted a small file")
	}
}

// A large, empty file found at Open is compacted there.
func TestCompactionAtOpen(t *testing.T) {
	path := newPath(t)
	fillFile(t, path, 3000)
	s := openAt(t, path, nil)
	// Drain without triggering compaction: reopen compacts instead.
	s.wmu.Lock()
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRecords)
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keyState, (&meta{}).encode())
	})
	s.wmu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path, nil)
	if st := s.Stats(); st.Compactions != 1 || st.NextSeq != 3001 || st.FileSize > compactMinFileSize {
		t.Fatalf("Stats after opening a large empty file: %+v", st)
	}
}

// An Open that waits for the lock while the holder compacts the file must
// not end up on the old file, which the compaction renamed away: it would
// lock and write to a file that no longer has a name.
func TestOpenWaitingDuringCompaction(t *testing.T) {
	path := newPath(t)
	s := openAt(t, path, nil)
	var last uint64
	for i := 0; i < 30; i++ {
		batch := make([][]byte, 100)
		for j := range batch {
			batch[j] = data(i*100+j, 600)
		}
		seqs, err := s.AppendBatch(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		last = seqs[len(seqs)-1]
	}

	type result struct {
		s   *Store
		err error
	}
	opened := make(chan result, 1)
	go func() {
		s2, err := Open(path, &Options{LockTimeout: 20 * time.Second})
		opened <- result{s2, err}
	}()
	time.Sleep(300 * time.Millisecond) // the second Open is waiting
	if err := s.RemoveThrough(last); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Compactions != 1 {
		t.Fatalf("no compaction: %+v", st)
	}
	time.Sleep(300 * time.Millisecond)
	select {
	case r := <-opened:
		if r.err == nil {
			r.s.Close()
		}
		t.Fatalf("second Open returned (%v) while the first store still holds the file", r.err)
	default:
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r := <-opened
	if r.err != nil {
		t.Fatal(r.err)
	}
	mustAppend(t, r.s, []byte("after"))
	if err := r.s.Close(); err != nil {
		t.Fatal(err)
	}
	s3 := openAt(t, path, nil)
	if recs := mustPeek(t, s3, 10); len(recs) != 1 || string(recs[0].Data) != "after" {
		t.Fatalf("the record appended by the second store is not in the file: %d records", len(recs))
	}
}
