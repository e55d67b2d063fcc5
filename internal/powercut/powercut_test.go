package powercut_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sioagent/sioagent/internal/powercut"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// writeFile writes b to path, fsyncing it when sync is set.
func writeFile(t *testing.T, path string, b []byte, sync bool) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func syncDir(t *testing.T, dir string) {
	t.Helper()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
}

func cut(t *testing.T, fs *powercut.FS) {
	t.Helper()
	if err := fs.PowerCut(powercut.CutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// content returns the file's content, or nil when it does not exist.
func content(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUnsyncedWriteIsLost(t *testing.T) {
	fs := powercut.Mount(t)
	p := filepath.Join(fs.Dir(), "a")
	writeFile(t, p, []byte("durable"), true)
	syncDir(t, fs.Dir())
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("LOST"), 2); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("tail"), 7); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got := content(t, p); string(got) != "duLOSTetail" {
		t.Fatalf("before the cut the program sees %q", got)
	}
	cut(t, fs)
	if got := content(t, p); string(got) != "durable" {
		t.Fatalf("after the cut: %q, want the synced content", got)
	}
}

func TestSyncedWriteIsKept(t *testing.T) {
	fs := powercut.Mount(t)
	p := filepath.Join(fs.Dir(), "a")
	writeFile(t, p, []byte("first"), true)
	syncDir(t, fs.Dir())
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("FIRST and more"), 0); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Fdatasync(int(f.Fd())); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(9); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cut(t, fs)
	if got := content(t, p); string(got) != "FIRST and more" {
		t.Fatalf("after the cut: %q, want the fdatasynced content (the later truncate was not synced)", got)
	}
}

func TestCreateWithoutDirSyncIsUndone(t *testing.T) {
	fs := powercut.Mount(t)
	p := filepath.Join(fs.Dir(), "new")
	writeFile(t, p, []byte("data"), true) // the data, not the name
	cut(t, fs)
	if got := content(t, p); got != nil {
		t.Fatalf("a file created without a directory fsync survived: %q", got)
	}
	writeFile(t, p, []byte("data"), true)
	syncDir(t, fs.Dir())
	cut(t, fs)
	if got := content(t, p); string(got) != "data" {
		t.Fatalf("after fsync of file and directory: %q", got)
	}
}

func TestRenameWithoutDirSyncIsUndone(t *testing.T) {
	fs := powercut.Mount(t)
	dst, tmp := filepath.Join(fs.Dir(), "db"), filepath.Join(fs.Dir(), "db.tmp")
	writeFile(t, dst, []byte("old"), true)
	syncDir(t, fs.Dir())
	writeFile(t, tmp, []byte("new"), true)
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
	cut(t, fs)
	if got := content(t, dst); string(got) != "old" {
		t.Fatalf("a rename without a directory fsync survived: %q", got)
	}
	if got := content(t, tmp); got != nil {
		t.Fatalf("the unsynced temporary name survived: %q", got)
	}
	writeFile(t, tmp, []byte("new"), true)
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
	syncDir(t, fs.Dir())
	cut(t, fs)
	if got := content(t, dst); string(got) != "new" {
		t.Fatalf("after the directory fsync: %q, want the renamed file", got)
	}
}

func TestUnlinkWithoutDirSyncIsUndone(t *testing.T) {
	fs := powercut.Mount(t)
	p := filepath.Join(fs.Dir(), "a")
	writeFile(t, p, []byte("kept"), true)
	syncDir(t, fs.Dir())
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	// A new file reusing the inode must not take the old one's data.
	writeFile(t, filepath.Join(fs.Dir(), "b"), []byte("other"), true)
	cut(t, fs)
	if got := content(t, p); string(got) != "kept" {
		t.Fatalf("an unlink without a directory fsync: %q", got)
	}
}

func TestSubdirectoryNeedsParentSync(t *testing.T) {
	fs := powercut.Mount(t)
	d := filepath.Join(fs.Dir(), "sub")
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(d, "f"), []byte("x"), true)
	syncDir(t, d)
	cut(t, fs)
	if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a directory whose parent was not synced survived (%v)", err)
	}
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	syncDir(t, fs.Dir())
	writeFile(t, filepath.Join(d, "f"), []byte("x"), true)
	syncDir(t, d)
	cut(t, fs)
	if got := content(t, filepath.Join(d, "f")); string(got) != "x" {
		t.Fatalf("after syncing file, directory and parent: %q", got)
	}
}

func TestFailedFsyncLosesTheWrites(t *testing.T) {
	fs := powercut.Mount(t)
	p := filepath.Join(fs.Dir(), "a")
	writeFile(t, p, []byte("0123"), true)
	syncDir(t, fs.Dir())
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte("AB"), 0); err != nil {
		t.Fatal(err)
	}
	fs.SetFault(func(op powercut.Op) syscall.Errno {
		if op.Kind == powercut.Fsync {
			return syscall.EIO
		}
		return 0
	})
	if err := f.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("fsync: %v, want EIO", err)
	}
	fs.SetFault(nil)
	if err := f.Sync(); err != nil {
		t.Fatalf("the next fsync: %v", err)
	}
	f.Close()
	cut(t, fs)
	if got := content(t, p); string(got) != "0123" {
		t.Fatalf("after a failed fsync and a successful one: %q; the failed one's writes must stay lost", got)
	}
	if st := fs.Stats(); st.Faults != 1 || st.Cuts != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestWriteFault(t *testing.T) {
	fs := powercut.Mount(t)
	p := filepath.Join(fs.Dir(), "a")
	fs.SetFault(func(op powercut.Op) syscall.Errno {
		if op.Kind == powercut.Write && op.Path == "a" {
			return syscall.ENOSPC
		}
		return 0
	})
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("x")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write: %v, want ENOSPC", err)
	}
}

func TestTornWriteKeepsWholeSectors(t *testing.T) {
	fs := powercut.Mount(t)
	p := filepath.Join(fs.Dir(), "a")
	old := bytes.Repeat([]byte{'o'}, 4096)
	writeFile(t, p, old, true)
	syncDir(t, fs.Dir())
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{'n'}, 4096), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r := rand.New(rand.NewPCG(1, 2))
	if err := fs.PowerCut(powercut.CutOptions{Torn: true, Rand: r}); err != nil {
		t.Fatal(err)
	}
	got := content(t, p)
	n := bytes.IndexByte(got, 'o')
	if len(got) != 4096 || n < 0 || n%512 != 0 || !bytes.Equal(got[n:], old[n:]) ||
		!bytes.Equal(got[:n], bytes.Repeat([]byte{'n'}, n)) {
		t.Fatalf("torn write: new prefix of %d bytes, total %d", n, len(got))
	}
}
