package store

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bootOpts returns Options whose current boot id is id, read from a file
// laid out like Linux's boot_id; noBootID makes the boot unknown.
func bootOpts(t *testing.T, id string) *Options {
	t.Helper()
	if id == noBootID {
		return &Options{bootIDPath: noBootID}
	}
	p := filepath.Join(t.TempDir(), "boot_id")
	if err := os.WriteFile(p, []byte(id+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &Options{bootIDPath: p}
}

// crashImage is what a kill -9 of the process leaves: the database file
// and its sidecar as they are while the store is open.
type crashImage struct{ db, side []byte }

// takeCrashImage records the files of the open store at path.
func takeCrashImage(t *testing.T, path string) crashImage {
	t.Helper()
	db, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	side, err := os.ReadFile(seqPath(path))
	if err != nil {
		t.Fatal(err)
	}
	return crashImage{db: db, side: side}
}

// crash stops s without its Close taking effect on disk: s is closed (to
// release the lock and goroutines), then img is put back in place.
func (img crashImage) crash(t *testing.T, s *Store, path string) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, img.db, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(seqPath(path), img.side, 0o600); err != nil {
		t.Fatal(err)
	}
}

// appendThenCrash opens a fresh store at path during boot id, appends n
// records, and leaves it as a kill -9 would. It returns the mark the
// sidecar held at the crash.
func appendThenCrash(t *testing.T, path, boot string, n int) uint64 {
	t.Helper()
	s := openAt(t, path, bootOpts(t, boot))
	for i := 1; i <= n; i++ {
		if seq := mustAppend(t, s, []byte("x")); seq != uint64(i) {
			t.Fatalf("seq %d, want %d", seq, i)
		}
	}
	img := takeCrashImage(t, path)
	img.crash(t, s, path)
	sc, ok, err := readSeqFloor(path)
	mark := sc.mark
	if err != nil || !ok || mark <= uint64(n) {
		t.Fatalf("sidecar at the crash: %d, %v, %v; want a reservation above %d", mark, ok, err, n)
	}
	return mark
}

// The agent killed and restarted during the same boot: the file kept
// every commit (the page cache held them), so its seqs go on without a
// gap, and the reservation stands (no sidecar write at Open).
func TestSeqsNoGapAfterCrashSameBoot(t *testing.T) {
	path := newPath(t)
	mark := appendThenCrash(t, path, "boot-a", 5)
	side, _ := os.ReadFile(seqPath(path))

	s := openAt(t, path, bootOpts(t, "boot-a"))
	if s.Recovery() != nil {
		t.Fatalf("recovery: %v", s.Recovery().Err)
	}
	if next := s.Stats().NextSeq; next != 6 {
		t.Fatalf("NextSeq %d after a crash in the same boot, want 6", next)
	}
	if now, _ := os.ReadFile(seqPath(path)); !bytes.Equal(now, side) {
		t.Fatalf("sidecar rewritten at Open: %x, was %x", now, side)
	}
	if seq := mustAppend(t, s, []byte("y")); seq != 6 {
		t.Fatalf("seq %d after a crash in the same boot, want 6", seq)
	}
	if sc, ok, err := readSeqFloor(path); err != nil || !ok || sc.mark != mark || sc.boot != "boot-a" {
		t.Fatalf("sidecar %+v %v %v; want the reservation %d of boot-a", sc, ok, err, mark)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if sc, ok, err := readSeqFloor(path); err != nil || !ok || sc.mark != 6 || sc.boot != "boot-a" {
		t.Fatalf("sidecar after Close %+v %v %v; want 6 of boot-a", sc, ok, err)
	}
}

// Killed between the sidecar write that reserves a new block and the
// commit of the records it was written for: the file is at the
// reservation's base, which is also what a copy of the file taken before
// the reservation looks like, so the seqs skip the block (a gap, never a
// reuse; this window comes once per block).
func TestSeqsNoGapAfterCrashDuringReservation(t *testing.T) {
	path := newPath(t)
	opts := bootOpts(t, "boot-a")
	s := openAt(t, path, opts)
	for i := 0; i < 5; i++ {
		mustAppend(t, s, []byte("x"))
	}
	if err := s.Close(); err != nil { // the floor is lowered to 5
		t.Fatal(err)
	}
	s = openAt(t, path, opts)
	before, err := os.ReadFile(path) // the file before the next commit
	if err != nil {
		t.Fatal(err)
	}
	if seq, err := s.AppendBatch(t.Context(), [][]byte{[]byte("a"), []byte("b"), []byte("c")}); err != nil || seq[0] != 6 {
		t.Fatalf("AppendBatch = %v, %v", seq, err)
	}
	img := takeCrashImage(t, path) // holds the new reservation
	img.db = before                // the commit never happened
	img.crash(t, s, path)

	s = openAt(t, path, opts)
	if seq := mustAppend(t, s, []byte("y")); seq != 5+seqBlock+1 {
		t.Fatalf("seq %d after a crash before the commit, want %d", seq, 5+seqBlock+1)
	}
}

// A crash, then a restart after the machine rebooted (or with the boot
// unknown on either side): the file may have lost commits in a power cut,
// so the seqs continue above the reservation.
func TestSeqsSkipAfterCrashOtherBoot(t *testing.T) {
	for _, tc := range []struct{ name, before, after string }{
		{"rebooted", "boot-a", "boot-b"},
		{"boot unknown now", "boot-a", noBootID},
		{"boot unknown then", noBootID, "boot-a"},
		{"boot never known", noBootID, noBootID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := newPath(t)
			mark := appendThenCrash(t, path, tc.before, 5)
			s := openAt(t, path, bootOpts(t, tc.after))
			if seq := mustAppend(t, s, []byte("y")); seq <= mark {
				t.Fatalf("seq %d; the reservation before the reboot was %d", seq, mark)
			}
		})
	}
}

// A missing boot id file means the boot is unknown.
func TestSeqsSkipWhenBootIDUnreadable(t *testing.T) {
	path := newPath(t)
	mark := appendThenCrash(t, path, "boot-a", 5)
	s := openAt(t, path, &Options{bootIDPath: filepath.Join(t.TempDir(), "missing")})
	if seq := mustAppend(t, s, []byte("y")); seq <= mark {
		t.Fatalf("seq %d; the reservation was %d", seq, mark)
	}
}

// encodeSeqFloorV1 is the sidecar as the previous version wrote it.
func encodeSeqFloorV1(mark uint64) []byte {
	b := make([]byte, seqFileSizeV1)
	copy(b, seqMagicV1)
	binary.BigEndian.PutUint64(b[4:], mark)
	binary.BigEndian.PutUint32(b[12:], crc32.Checksum(b[:12], castagnoli))
	return b
}

// encodeSeqFloorV2 is the sidecar as version 2 wrote it (no base).
func encodeSeqFloorV2(mark uint64, boot string) []byte {
	end := seqHeaderSizeV2 + len(boot)
	b := make([]byte, end+seqCRCSize)
	copy(b, seqMagicV2)
	binary.BigEndian.PutUint64(b[4:], mark)
	b[12] = byte(len(boot))
	copy(b[seqHeaderSizeV2:], boot)
	binary.BigEndian.PutUint32(b[end:], crc32.Checksum(b[:end], castagnoli))
	return b
}

// A version 2 sidecar has no base: it is taken as one block below the
// mark, version 2's own rule (a file within one block of the mark, in the
// same boot, is trusted).
func TestSeqsWithV2Sidecar(t *testing.T) {
	for _, tc := range []struct {
		name string
		mark uint64
		want uint64
	}{
		{"within one block", 4 + seqBlock, 6},
		{"more than one block behind", 5 + seqBlock + 1, 5 + seqBlock + 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := newPath(t)
			fillFile(t, path, 5)
			if err := os.WriteFile(seqPath(path), encodeSeqFloorV2(tc.mark, "boot-a"), 0o600); err != nil {
				t.Fatal(err)
			}
			s := openAt(t, path, bootOpts(t, "boot-a"))
			if seq := mustAppend(t, s, []byte("y")); seq != tc.want {
				t.Fatalf("seq %d with the file at 5 and a SEQ2 sidecar at %d; want %d", seq, tc.mark, tc.want)
			}
		})
	}
}

// A sidecar of the previous format carries no boot id: the boot is
// unknown, the seqs continue above its mark, and the next write upgrades
// the sidecar.
func TestSeqsSkipWithV1Sidecar(t *testing.T) {
	path := newPath(t)
	mark := appendThenCrash(t, path, "boot-a", 5)
	if err := os.WriteFile(seqPath(path), encodeSeqFloorV1(mark), 0o600); err != nil {
		t.Fatal(err)
	}
	s := openAt(t, path, bootOpts(t, "boot-a"))
	seq := mustAppend(t, s, []byte("y"))
	if seq <= mark {
		t.Fatalf("seq %d; the SEQ1 sidecar held %d", seq, mark)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(seqPath(path))
	if err != nil {
		t.Fatal(err)
	}
	if sc, ok := parseSeqFloor(b); string(b[:4]) != seqMagic || !ok || sc.mark != seq || sc.boot != "boot-a" {
		t.Fatalf("sidecar after Close: %x (%+v, %v); want SEQ3 with %d, boot-a", b, sc, ok, seq)
	}
}

// A sidecar that fails its CRC is unreadable: Open warns and, since the
// seqs it guarded are unknown (the file may have lost commits on storage
// that also tore the sidecar), skips one block ahead of the file's
// sequence and records that, with the boot id.
func TestSeqFloorCorruptSidecar(t *testing.T) {
	path := newPath(t)
	appendThenCrash(t, path, "boot-a", 5)
	b, err := os.ReadFile(seqPath(path))
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0x01
	if err := os.WriteFile(seqPath(path), b, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	opts := bootOpts(t, "boot-a")
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	s := openAt(t, path, opts)
	if !strings.Contains(logs.String(), "seq floor unreadable") {
		t.Fatalf("no warning about the sidecar; log:\n%s", logs.String())
	}
	if sc, ok, err := readSeqFloor(path); err != nil || !ok || sc.mark != 5+seqBlock || sc.boot != "boot-a" {
		t.Fatalf("sidecar %+v %v %v; want it rebuilt as %d of boot-a", sc, ok, err, 5+seqBlock)
	}
	if seq := mustAppend(t, s, []byte("y")); seq != 5+seqBlock+1 {
		t.Fatalf("seq %d, want %d: the seqs the damaged sidecar guarded are unknown, so they skip a block", seq, 5+seqBlock+1)
	}
}

// A damaged file set aside during the same boot: the fresh file starts
// above the reservation (and the damaged file's seqs).
func TestSeqsSkipAfterRecoverySameBoot(t *testing.T) {
	path := newPath(t)
	mark := appendThenCrash(t, path, "boot-a", 50)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 2*4096), 0); err != nil { // no meta page left
		t.Fatal(err)
	}
	f.Close()
	s := openAt(t, path, bootOpts(t, "boot-a"))
	if s.Recovery() == nil {
		t.Fatal("no recovery")
	}
	if seq := mustAppend(t, s, []byte("y")); seq <= mark {
		t.Fatalf("seq %d after recovery; the reservation was %d", seq, mark)
	}
}

// The database file deleted after a crash, the sidecar kept: the fresh
// file (sequence 0) starts above the reservation even in the same boot.
func TestSeqsSkipFreshFileSameBoot(t *testing.T) {
	path := newPath(t)
	mark := appendThenCrash(t, path, "boot-a", 5)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	s := openAt(t, path, bootOpts(t, "boot-a"))
	if seq := mustAppend(t, s, []byte("y")); seq <= mark {
		t.Fatalf("seq %d in a fresh file; the reservation was %d", seq, mark)
	}
}

// A file at or below the base the sidecar recorded is older than the
// sidecar (restored from a copy, say) even in the same boot: its seqs may
// have been handed out since, so it continues above the mark. After a
// clean Close base and mark are the same, so any older file is caught; a
// file past the base is what a crash leaves, and is trusted.
func TestSeqsSkipOldFileSameBoot(t *testing.T) {
	for _, tc := range []struct {
		name       string
		mark, base uint64
		want       uint64
	}{
		{"crashed after its reservation", 4 + seqBlock, 4, 6},
		{"at the reservation's base", 5 + seqBlock, 5, 6 + seqBlock},
		{"older than the reservation", 9 + seqBlock, 9, 10 + seqBlock},
		{"older than a clean Close", 7, 7, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := newPath(t)
			opts := bootOpts(t, "boot-a")
			fillFile(t, path, 5)
			if err := writeSeqFloor(path, sidecar{mark: tc.mark, base: tc.base, boot: "boot-a"}); err != nil {
				t.Fatal(err)
			}
			s := openAt(t, path, opts)
			if seq := mustAppend(t, s, []byte("y")); seq != tc.want {
				t.Fatalf("seq %d with the file at 5 and the sidecar at %d (base %d); want %d", seq, tc.mark, tc.base, tc.want)
			}
		})
	}
}

func TestSeqFloorEncoding(t *testing.T) {
	long := strings.Repeat("b", maxBootIDLen)
	for _, boot := range []string{"", "2f0c6a2e-8c1b-4b53-9d0e-0c1f6f3b9a77", long} {
		b := encodeSeqFloor(sidecar{mark: 1<<40 + 3, base: 1 << 40, boot: boot})
		if len(b) != seqMinFileSize+len(boot) || string(b[:4]) != seqMagic {
			t.Fatalf("encoded %q as %x", boot, b)
		}
		if sc, ok := parseSeqFloor(b); !ok || sc.mark != 1<<40+3 || sc.base != 1<<40 || sc.boot != boot {
			t.Fatalf("parse(encode(%q)) = %+v, %v", boot, sc, ok)
		}
		for i := range b { // every single-bit flip is caught
			c := bytes.Clone(b)
			c[i] ^= 0x10
			if _, ok := parseSeqFloor(c); ok {
				t.Fatalf("flipped byte %d of %x accepted", i, b)
			}
		}
		for n := range len(b) {
			if _, ok := parseSeqFloor(b[:n]); ok {
				t.Fatalf("truncated to %d bytes accepted", n)
			}
		}
		if _, ok := parseSeqFloor(append(bytes.Clone(b), 0)); ok {
			t.Fatal("trailing byte accepted")
		}
	}
	if sc, ok := parseSeqFloor(encodeSeqFloorV1(42)); !ok || sc.mark != 42 || sc.boot != "" {
		t.Fatalf("SEQ1 parsed as %+v, %v", sc, ok)
	}
	v1 := encodeSeqFloorV1(42)
	v1[15] ^= 1
	if _, ok := parseSeqFloor(v1); ok {
		t.Fatal("SEQ1 with a bad CRC accepted")
	}
}

func TestReadBootID(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct{ name, path, want string }{
		{"trimmed", write("id", " 2f0c6a2e-8c1b\n"), "2f0c6a2e-8c1b"},
		{"empty", write("empty", "\n"), ""},
		{"too long", write("long", strings.Repeat("x", maxBootIDLen+1)), ""},
		{"missing", filepath.Join(dir, "missing"), ""},
		{"no path", "", ""},
	} {
		if got := readBootID(tc.path); got != tc.want {
			t.Errorf("%s: readBootID = %q, want %q", tc.name, got, tc.want)
		}
	}
}
