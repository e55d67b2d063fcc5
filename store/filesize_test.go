package store

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// worstCaseRecord is the record size that wastes the most file space: a
// stored record just over half a page, so that no two share a page.
const worstCaseRecord = 4096/2 + 64

// fillRecords appends batches of size-byte records until total bytes of
// data were offered, and returns the seqs of the last batch and the first
// error.
func fillRecords(t *testing.T, s *Store, size int, total int64) ([]uint64, error) {
	t.Helper()
	const perBatch = 64
	var last []uint64
	for i, n := 0, int64(0); n < total; i++ {
		batch := make([][]byte, perBatch)
		for j := range batch {
			batch[j] = bytes.Repeat([]byte{byte(i + j)}, size)
		}
		seqs, err := s.AppendBatch(t.Context(), batch)
		if err != nil {
			return last, err
		}
		last = seqs
		n += int64(perBatch * size)
	}
	return last, nil
}

// The byte bound acts before the file-size backstop for every MaxBytes up
// to MaxBoundedBytes with the derived MaxFileSize, in the worst case for
// page use: appending one and a half times MaxBytes under DropOldest never
// fails, every drop is a max_bytes drop, and the queue ends full.
func TestBoundsActBeforeFileCeiling(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	for _, maxBytes := range []int64{1 << 20, 16 << 20, 64 << 20, MaxBoundedBytes} {
		t.Run(fmt.Sprintf("%dMiB", maxBytes>>20), func(t *testing.T) {
			s, _ := openTest(t, &Options{MaxBytes: maxBytes})
			if _, err := fillRecords(t, s, worstCaseRecord, maxBytes+maxBytes/2); err != nil {
				t.Fatalf("append under DropOldest: %v (file limit %d)", err, s.cfg.maxFileSize)
			}
			st := s.Stats()
			if st.Drops.MaxFileSize != 0 || st.Drops.MaxBytes == 0 {
				t.Fatalf("drops %+v: want max_bytes drops only", st.Drops)
			}
			if free := uint64(maxBytes) - st.Bytes; st.Bytes > uint64(maxBytes) || free > storedSize(worstCaseRecord)*64 {
				t.Fatalf("queue holds %d bytes of %d", st.Bytes, maxBytes)
			}
		})
	}
}

// With a file ceiling too small for MaxBytes (here the same size), the
// file would fill up before the byte bound is reached. DropOldest must
// then still drop the oldest records, not the new ones: every append
// succeeds, the newest records are kept and the drops are counted as
// max_file_size. Reject refuses the append with ErrFull.
func TestFileCeilingFollowsOverflowPolicy(t *testing.T) {
	const maxBytes = 8 << 20
	t.Run("drop-oldest", func(t *testing.T) {
		s, _ := openTest(t, &Options{MaxBytes: maxBytes, MaxFileSize: maxBytes})
		last, err := fillRecords(t, s, worstCaseRecord, 3*maxBytes)
		if err != nil {
			t.Fatalf("append under DropOldest with a full file: %v", err)
		}
		st := s.Stats()
		if st.Drops.MaxFileSize == 0 {
			t.Fatalf("drops %+v: want file-size drops", st.Drops)
		}
		checkNewestKept(t, s, last)
		if st.FileSize > maxBytes {
			t.Fatalf("file %d bytes, limit %d", st.FileSize, maxBytes)
		}
	})
	t.Run("reject", func(t *testing.T) {
		s, _ := openTest(t, &Options{MaxBytes: maxBytes, MaxFileSize: maxBytes, Overflow: Reject})
		_, err := fillRecords(t, s, worstCaseRecord, 3*maxBytes)
		if !errors.Is(err, ErrFull) {
			t.Fatalf("append under Reject with a full file: %v, want ErrFull", err)
		}
		if d := s.Stats().Drops; d.Total() != 0 {
			t.Fatalf("Reject dropped records: %+v", d)
		}
	})
}

// Dead letters do not count towards the queue's bounds, so they can take
// the file's room: then bbolt refuses to grow it before any bound is
// reached, and DropOldest drops the oldest queued records to make room
// (makeRoom) instead of failing the append.
func TestFileFullOfDeadLettersDropsOldest(t *testing.T) {
	const limit = 4 << 20
	s, _ := openTest(t, &Options{MaxFileSize: limit, MaxDeadLetterBytes: 64 << 20, MaxDeadLetters: 1 << 20})
	// Fill most of the file with dead letters.
	for i := 0; i < 600; i++ {
		seq, err := s.Append(t.Context(), bytes.Repeat([]byte{byte(i)}, worstCaseRecord))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeadLetter(seq, "test"); err != nil {
			t.Fatal(err)
		}
	}
	last, err := fillRecords(t, s, worstCaseRecord, 4*limit)
	if err != nil {
		t.Fatalf("append with the file full of dead letters: %v (drops %+v)", err, s.Stats().Drops)
	}
	st := s.Stats()
	if st.Drops.MaxFileSize == 0 {
		t.Fatalf("drops %+v: want file-size drops", st.Drops)
	}
	checkNewestKept(t, s, last)
}

// checkNewestKept fails unless the newest queued record is the last one
// appended (last holds the seqs of the last batch).
func checkNewestKept(t *testing.T, s *Store, last []uint64) {
	t.Helper()
	recs, err := s.Peek(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 || recs[len(recs)-1].Seq != last[len(last)-1] {
		t.Fatalf("the newest queued record is not the last appended (%d); %d queued", last[len(last)-1], len(recs))
	}
}
