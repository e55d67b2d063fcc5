package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// fillFile creates a closed store at path with n records of 600 bytes,
// each starting with a unique marker.
func fillFile(t *testing.T, path string, n int) {
	t.Helper()
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	batch := make([][]byte, 0, 100)
	for i := 0; i < n; i++ {
		batch = append(batch, marked(i))
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := s.AppendBatch(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func marked(i int) []byte {
	d := bytes.Repeat([]byte{'.'}, 600)
	copy(d, fmt.Sprintf("MARKER-%06d-", i))
	return d
}

// corruptFiles lists the quarantined copies of path.
func corruptFiles(t *testing.T, path string) []string {
	t.Helper()
	m, err := filepath.Glob(path + corruptSuffix + "*")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// expectRecovered opens a damaged file and checks that it was set aside
// intact, reported, and replaced by a working empty store whose seqs go on
// above lastSeq, the last seq the damaged file handed out (0 for none).
func expectRecovered(t *testing.T, path string, lastSeq uint64) {
	t.Helper()
	damaged, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := openAt(t, path, nil)
	rec := s.Recovery()
	if rec == nil {
		t.Fatal("a damaged file opened without a recovery")
	}
	t.Logf("recovery: %v", rec.Err)
	if !errors.Is(rec.Err, ErrCorrupt) || !s.Stats().Recovered {
		t.Fatalf("Recovery = %+v, Stats.Recovered = %v", rec, s.Stats().Recovered)
	}
	files := corruptFiles(t, path)
	if len(files) != 1 || files[0] != rec.Path {
		t.Fatalf("quarantined files %v, Recovery.Path %q", files, rec.Path)
	}
	kept, err := os.ReadFile(rec.Path)
	if err != nil || !bytes.Equal(kept, damaged) {
		t.Fatalf("the set-aside file differs from the damaged one (%v)", err)
	}
	if st := s.Stats(); st.Count != 0 || st.NextSeq <= lastSeq {
		t.Fatalf("fresh store Stats = %+v: seqs up to %d were handed out already", st, lastSeq)
	}
	if seq := mustAppend(t, s, []byte("works")); seq <= lastSeq {
		t.Fatalf("seq %d reused after recovery (the damaged file reached %d)", seq, lastSeq)
	}
}

func TestGarbageFileQuarantined(t *testing.T) {
	path := newPath(t)
	garbage := make([]byte, 64<<10)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(path, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	expectRecovered(t, path, 0)
}

func TestTruncatedFileQuarantined(t *testing.T) {
	path := newPath(t)
	fillFile(t, path, 2000)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()/3); err != nil {
		t.Fatal(err)
	}
	expectRecovered(t, path, 2000)
}

func TestZeroedMetaPagesQuarantined(t *testing.T) {
	path := newPath(t)
	fillFile(t, path, 10)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 2*4096), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	expectRecovered(t, path, 10)
}

// Random garbage over the file's leaf pages: bbolt's structures point into
// nonsense. Open must set the file aside, not crash.
func TestDamagedPagesQuarantined(t *testing.T) {
	path := newPath(t)
	fillFile(t, path, 2000)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const pageSize = 4096
	r := rand.New(rand.NewPCG(3, 4))
	damaged := 0
	for off := 2 * pageSize; off+pageSize <= len(raw); off += pageSize {
		flags := binary.LittleEndian.Uint16(raw[off+8:])
		if flags&0x02 == 0 || r.IntN(4) != 0 { // a quarter of the leaf pages
			continue
		}
		for i := off; i < off+pageSize; i++ {
			raw[i] = byte(r.Uint32())
		}
		damaged++
	}
	if damaged == 0 {
		t.Fatal("no leaf page found")
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	expectRecovered(t, path, 2000)
}

// A record damaged inside an otherwise sound file (bbolt cannot tell) is
// caught by its checksum, quarantined and skipped.
func TestDamagedRecordQuarantined(t *testing.T) {
	path := newPath(t)
	fillFile(t, path, 10)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Damage records 0 (the head) and 4, in every copy of their page.
	for _, i := range []int{0, 4} {
		m := []byte(fmt.Sprintf("MARKER-%06d-", i))
		n := 0
		for at := 0; ; {
			j := bytes.Index(raw[at:], m)
			if j < 0 {
				break
			}
			raw[at+j+len(m)+5] ^= 0xFF
			n++
			at += j + 1
		}
		if n == 0 {
			t.Fatalf("record %d not found in the file", i)
		}
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	s := openAt(t, path, nil)
	if s.Recovery() != nil {
		t.Fatalf("a file with a damaged record was set aside: %v", s.Recovery().Err)
	}
	recs := mustPeek(t, s, 100)
	if got := seqsOf(recs); !equalSeqs(got, []uint64{2, 3, 4, 6, 7, 8, 9, 10}) {
		t.Fatalf("Peek = %v", got)
	}
	if !bytes.Equal(recs[0].Data, marked(1)) {
		t.Fatal("wrong data")
	}
	st := s.Stats()
	if st.Quarantined != 2 || st.Count != 8 {
		t.Fatalf("Stats = %+v", st)
	}
	var kept int
	_ = s.view(func(tx *bolt.Tx) error {
		kept = tx.Bucket(bucketQuarantine).Stats().KeyN
		return nil
	})
	if kept != 2 {
		t.Fatalf("%d records in quarantine, want 2", kept)
	}
	// The queue drains normally afterwards.
	if err := s.RemoveThrough(10); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Count != 0 || st.Bytes != 0 {
		t.Fatalf("Stats = %+v", st)
	}
}

// Open never sets aside a file because of an error that is not damage.
func TestOpenErrorNotQuarantined(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(path, nil); err == nil {
		s.Close()
		t.Fatal("Open of a directory succeeded")
	}
	if files := corruptFiles(t, path); len(files) != 0 {
		t.Fatalf("set aside: %v", files)
	}
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		t.Fatal("the directory was moved")
	}
}

func TestNewerFormatRefused(t *testing.T) {
	path := newPath(t)
	fillFile(t, path, 3)
	setMeta(t, path, keyFormat, []byte{formatVersion + 1})
	before, _ := os.ReadFile(path)
	if s, err := Open(path, nil); !errors.Is(err, ErrIncompatible) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open: %v, want ErrIncompatible", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) || len(corruptFiles(t, path)) != 0 {
		t.Fatal("a file of a newer format was modified or set aside")
	}
	setMeta(t, path, keyFormat, []byte{formatVersion}) // for the cleanup check
}

// Counters that disagree with the data are recounted at Open.
func TestMetaRepairedAtOpen(t *testing.T) {
	path := newPath(t)
	fillFile(t, path, 5)
	wrong := meta{count: 99, bytes: 1, drops: Drops{MaxAge: 7}}
	setMeta(t, path, keyState, wrong.encode())
	s := openAt(t, path, nil)
	st := s.Stats()
	if st.Count != 5 || st.Bytes != 5*storedSize(600) || st.Drops.MaxAge != 7 {
		t.Fatalf("Stats = %+v", st)
	}
}

func setMeta(t *testing.T, path string, key, value []byte) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(key, value)
	}); err != nil {
		t.Fatal(err)
	}
}

// A truncated file whose meta pages were made to agree with its new size
// gets past preflight; bbolt maps it, and reading the freelist page, which
// the meta places past the end of the file, faults (SIGBUS). Open must
// recover from the fault, not crash.
func TestFaultWhileReadingQuarantined(t *testing.T) {
	path := newPath(t)
	fillFile(t, path, 2000)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	const pageSize = 4096
	const pages = 100 // mapped as 512 KiB: pages 100-127 fault
	if fi.Size() < 2*pages*pageSize {
		t.Fatalf("file only %d bytes", fi.Size())
	}
	if err := os.Truncate(path, pages*pageSize); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, pageSize} {
		buf := make([]byte, boltPageHeader+boltMetaLen)
		if _, err := f.ReadAt(buf, off); err != nil {
			t.Fatal(err)
		}
		m := buf[boltPageHeader:]
		binary.LittleEndian.PutUint64(m[32:], pages+10) // freelist: a missing page
		binary.LittleEndian.PutUint64(m[40:], pages)
		h := fnv.New64a()
		h.Write(m[:boltMetaSumOff])
		binary.LittleEndian.PutUint64(m[boltMetaSumOff:], h.Sum64())
		if _, err := f.WriteAt(buf, off); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	if err := preflight(path); err != nil {
		t.Fatalf("preflight caught it (%v); the test needs a file that gets past it", err)
	}
	expectRecovered(t, path, 2000)
}
