//go:build linux

package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/sioagent/sioagent/internal/testenv"
)

// TestDiskFull runs the store on a 2 MiB tmpfs, fills the file system,
// and checks that Append fails with ErrDiskFull (wrapping ENOSPC) for
// every producer, that the file stays consistent and reopens, and that
// appends work again once space is freed.
func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=2m,mode=0700"); err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			testenv.SkipUnlessRequired(t, testenv.RequireMount, "cannot mount a tmpfs to fill (%v): this test needs root or CAP_SYS_ADMIN", err)
		}
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	path := filepath.Join(dir, "outbox.db")
	t.Cleanup(func() { checkFile(t, path) })
	s := openAt(t, path, &Options{GroupCommit: GroupCommit{MaxDelay: -1}})
	ctx := context.Background()

	var acked []uint64
	for i := 0; i < 10; i++ {
		acked = append(acked, mustAppend(t, s, data(i, 600)))
	}
	filler := filepath.Join(dir, "filler")
	fillDisk(t, filler)

	var err error
	for i := 0; i < 10_000; i++ {
		var seq uint64
		if seq, err = s.Append(ctx, data(i, 600)); err != nil {
			break
		}
		acked = append(acked, seq)
	}
	if !errors.Is(err, ErrDiskFull) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append on a full disk: %v, want ErrDiskFull wrapping ENOSPC", err)
	}
	t.Logf("disk full after %d appends: %v", len(acked), err)

	// Every producer of a failing batch gets the error.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Append(ctx, data(i, 600))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, ErrDiskFull) {
			t.Errorf("concurrent Append %d on a full disk: %v", i, err)
		}
	}

	// Consistent: the counters match the data, everything acknowledged is
	// there, and the file reopens cleanly while the disk is still full.
	checkAcked := func(s *Store) {
		t.Helper()
		st := s.Stats()
		count, size, _ := scanStats(t, s)
		if st.Count != count || st.Bytes != size || st.Count != uint64(len(acked)) {
			t.Fatalf("Stats %d records %d bytes; scan %d, %d; %d acknowledged", st.Count, st.Bytes, count, size, len(acked))
		}
		recs := mustPeek(t, s, len(acked)+10)
		if !equalSeqs(seqsOf(recs), acked) {
			t.Fatal("acknowledged records missing or out of order")
		}
	}
	checkAcked(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := verifyFile(path); err != nil {
		t.Fatalf("file damaged by ENOSPC: %v", err)
	}
	s = openAt(t, path, &Options{GroupCommit: GroupCommit{MaxDelay: -1}})
	if s.Recovery() != nil {
		t.Fatalf("recovery after ENOSPC: %v", s.Recovery().Err)
	}
	checkAcked(s)

	// Space freed: appends work again.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		acked = append(acked, mustAppend(t, s, data(i, 600)))
	}
	checkAcked(s)
}

// fillDisk writes path until the file system is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
}
