package store

import (
	"bytes"
	"os"
	"testing"
)

// After a damaged file is set aside, the fresh file's seqs go on above
// every seq the old one handed out: the server dedupes on seq, so a reused
// one would be acked as a duplicate and its record deleted unsent.
func TestSeqsContinueAfterRecovery(t *testing.T) {
	path := newPath(t)
	fillFile(t, path, 50)
	// Damage beyond reading: no bbolt meta page left.
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 2*4096), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s := openAt(t, path, nil)
	if s.Recovery() == nil {
		t.Fatal("no recovery")
	}
	if seq := mustAppend(t, s, []byte("x")); seq <= 50 {
		t.Fatalf("seq %d after recovery; the damaged file had reached 50", seq)
	}
}

// Without the sidecar, recovery still reads the damaged file's sequence
// when it can.
func TestSeqsContinueAfterRecoveryNoSidecar(t *testing.T) {
	path := newPath(t)
	fillFile(t, path, 2000)
	if err := os.Remove(seqPath(path)); err != nil {
		t.Fatal(err)
	}
	// Garbage over the leaf page(s) holding record 500: bbolt's check
	// fails, but the root and the records bucket's header are intact.
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const pageSize = 4096
	m := marked(500)[:14]
	damaged := 0
	for off := 2 * pageSize; off+pageSize <= len(raw); off += pageSize {
		if !bytes.Contains(raw[off:off+pageSize], m) {
			continue
		}
		for i := off + 16; i < off+pageSize; i++ {
			raw[i] = byte(i * 7)
		}
		damaged++
	}
	if damaged == 0 {
		t.Fatal("record 500 not found")
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	s := openAt(t, path, nil)
	if s.Recovery() == nil {
		t.Fatal("no recovery")
	}
	if next := s.Stats().NextSeq; next <= 2000 {
		t.Fatalf("NextSeq %d after recovery without sidecar; the damaged file had reached 2000", next)
	}
}

// A process killed while holding a reserved block: the sidecar is at the
// reservation; a fresh file (the old one lost) starts above it.
func TestSeqFloorAfterCrashAndLoss(t *testing.T) {
	path := newPath(t)
	s := openAt(t, path, nil)
	for i := 0; i < 5; i++ {
		mustAppend(t, s, []byte("x"))
	}
	side, err := os.ReadFile(seqPath(path)) // what a kill -9 leaves
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if sc, ok, err := readSeqFloor(path); err != nil || !ok || sc.mark != 5 {
		t.Fatalf("after Close the floor is %+v, %v, %v; want 5", sc, ok, err)
	}
	if err := os.WriteFile(seqPath(path), side, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path, nil)
	if seq := mustAppend(t, s, []byte("y")); seq <= 5 {
		t.Fatalf("seq %d reused", seq)
	}
}

// A lost sidecar next to a healthy file is rebuilt from the file, and a
// clean restart leaves no gap in the seqs.
func TestSeqFloorSidecarLost(t *testing.T) {
	path := newPath(t)
	fillFile(t, path, 7)
	if err := os.Remove(seqPath(path)); err != nil {
		t.Fatal(err)
	}
	s := openAt(t, path, nil)
	if st := s.Stats(); st.NextSeq != 8 || st.Count != 7 {
		t.Fatalf("Stats = %+v", st)
	}
	if sc, ok, err := readSeqFloor(path); err != nil || !ok || sc.mark != 7 {
		t.Fatalf("sidecar not rebuilt: %+v, %v, %v", sc, ok, err)
	}
	if seq := mustAppend(t, s, []byte("x")); seq != 8 {
		t.Fatalf("seq %d, want 8", seq)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The file is lost now: the rebuilt sidecar carries the floor.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path, nil)
	if seq := mustAppend(t, s, []byte("y")); seq != 9 {
		t.Fatalf("seq %d after the file was lost, want 9", seq)
	}
}
