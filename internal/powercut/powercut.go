// Package powercut is a FUSE filesystem for tests that loses, on demand,
// everything a power cut would lose.
//
// It passes every operation through to a backing directory (what a
// running program sees is always up to date) and keeps, beside it, a
// model of what the storage has made durable:
//
//   - a file's data and size, as of its last fsync or fdatasync;
//   - a directory's entries (creates, renames, unlinks), as of its last
//     fsync.
//
// [FS.PowerCut] unmounts the filesystem, replaces the backing directory
// with the durable state and mounts it again: unsynced writes, and names
// whose directory was not synced, are gone. Optionally the last unsynced
// write survives as a torn prefix, a whole number of 512-byte sectors.
// [FS.SetFault] makes chosen writes or syncs fail with an errno; a failed
// fsync loses the file's unsynced writes for good, as Linux does (a later
// fsync that succeeds does not bring them back).
//
// Everything under the backing directory when it is mounted counts as
// durable. Only regular files and directories are supported; renaming a
// directory, links and special files fail with ENOTSUP. The processes
// that use the mount must have closed their files (or been killed) before
// PowerCut.
//
// The filesystem is served by goroutines of the process that mounted it:
// that process must not map a file of the mount into its own memory (bbolt
// does, so open a bbolt file on the mount only in another process). A page
// fault on such a mapping blocks a thread that the Go runtime cannot stop
// for a garbage collection, while the goroutines that would answer the
// fault are already stopped: the process deadlocks. It is the same idea as LazyFS, written small for this
// project's tests. It needs /dev/fuse and root (or fusermount3).
package powercut

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireEnv, set to 1, makes [Mount] fail a test instead of skipping it
// where FUSE is unavailable (make test sets it).
const RequireEnv = "SIOAGENT_REQUIRE_FUSE"

// cacheTimeout is how long the kernel may cache names and attributes:
// zero, so that every lookup and stat reaches the model.
const cacheTimeout = time.Duration(0)

// Op is one operation offered to the fault hook.
type Op struct {
	// Kind is the operation.
	Kind OpKind
	// Path is the file's or directory's path relative to the mount.
	Path string
	// Off and Len are the range of a write.
	Off int64
	Len int
}

// OpKind names an operation the fault hook can fail.
type OpKind int

// The operations the fault hook sees.
const (
	// Write is a write to a file.
	Write OpKind = iota + 1
	// Fsync is an fsync or fdatasync of a file.
	Fsync
	// FsyncDir is an fsync of a directory.
	FsyncDir
)

// String names the operation.
func (k OpKind) String() string {
	switch k {
	case Write:
		return "write"
	case Fsync:
		return "fsync"
	case FsyncDir:
		return "fsyncdir"
	}
	return fmt.Sprintf("OpKind(%d)", int(k))
}

// Fault decides the outcome of an operation: 0 lets it run, an errno
// fails it without effect (a failed fsync also loses the file's unsynced
// writes).
type Fault func(Op) syscall.Errno

// CutOptions tune a power cut.
type CutOptions struct {
	// Torn keeps a random prefix of the last unsynced write, in whole
	// 512-byte sectors (possibly none).
	Torn bool
	// Rand chooses the torn prefix; nil uses a random seed.
	Rand *rand.Rand
}

// Stats counts what the filesystem saw.
type Stats struct {
	// Writes, Fsyncs and DirSyncs count the operations that succeeded.
	Writes, Fsyncs, DirSyncs int
	// Faults counts operations failed by the fault hook.
	Faults int
	// Cuts counts power cuts.
	Cuts int
}

// FS is a mounted power-cut filesystem.
type FS struct {
	mnt, backing string

	mu      sync.Mutex
	server  server
	nextID  uint64
	ids     map[uint64]uint64 // backing inode -> file id, while linked
	files   map[uint64]*file
	dirs    map[string]map[string]dirent
	last    *write // the last unsynced write, for a torn cut
	fault   Fault
	stats   Stats
	closeMu sync.Once
}

// New mounts a power-cut filesystem at mnt over the directory backing.
// Both must exist; what backing holds counts as durable.
func New(backing, mnt string) (*FS, error) {
	backing, err := filepath.Abs(backing)
	if err != nil {
		return nil, err
	}
	f := &FS{mnt: mnt, backing: backing}
	if err := f.reset(); err != nil {
		return nil, err
	}
	if err := f.mount(); err != nil {
		return nil, err
	}
	return f, nil
}

// Mount is New for a test: backing and mount point are fresh temporary
// directories, the filesystem is unmounted at cleanup, and the test is
// skipped with a message where FUSE is unavailable (failed instead when
// RequireEnv is 1). Under qemu user emulation (GOARCH arm or arm64 on a
// machine whose CPU differs) FUSE is unproven, so the test is skipped
// there even when RequireEnv is set.
func Mount(tb testing.TB) *FS {
	tb.Helper()
	if reason := unavailable(); reason != "" {
		if os.Getenv(RequireEnv) == "1" && !emulated() && runtime.GOARCH != "arm" {
			tb.Fatalf("power-cut filesystem unavailable (%s) and %s=1", reason, RequireEnv)
		}
		tb.Skipf("power-cut filesystem unavailable: %s", reason)
	}
	base := tb.TempDir()
	backing, mnt := filepath.Join(base, "backing"), filepath.Join(base, "mnt")
	for _, d := range []string{backing, mnt} {
		if err := os.Mkdir(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	f, err := New(backing, mnt)
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			tb.Fatalf("mount the power-cut filesystem: %v", err)
		}
		tb.Skipf("cannot mount the power-cut filesystem: %v", err)
	}
	tb.Cleanup(func() {
		if err := f.Close(); err != nil {
			tb.Errorf("unmount the power-cut filesystem: %v", err)
		}
	})
	return f
}

// unavailable says why FUSE cannot be used here, or "".
func unavailable() string {
	if emulated() {
		return "FUSE is unproven under qemu user emulation"
	}
	if runtime.GOARCH == "arm" {
		return "go-fuse does not build for 32-bit ARM"
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return "/dev/fuse is missing (a container without the device?)"
	}
	return ""
}

// Dir is the mount point: the directory the code under test uses.
func (f *FS) Dir() string { return f.mnt }

// SetFault installs the fault hook (nil removes it).
func (f *FS) SetFault(h Fault) {
	f.mu.Lock()
	f.fault = h
	f.mu.Unlock()
}

// Stats returns the counts so far.
func (f *FS) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// PowerCut drops everything not durable: it unmounts the filesystem (no
// process may have a file open on it), puts the durable state in the
// backing directory and mounts it again.
func (f *FS) PowerCut(opts CutOptions) error {
	f.mu.Lock()
	server := f.server
	f.server = nil
	f.mu.Unlock()
	if server == nil {
		return errors.New("powercut: not mounted")
	}
	if err := unmount(server); err != nil {
		f.mu.Lock()
		f.server = server
		f.mu.Unlock()
		return err
	}
	f.mu.Lock()
	if opts.Torn && f.last != nil {
		r := opts.Rand
		if r == nil {
			r = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
		}
		tear(f.files, f.last, r)
	}
	err := rebuild(f.backing, f.dirs, f.files)
	f.stats.Cuts++
	f.mu.Unlock()
	if err != nil {
		return fmt.Errorf("powercut: rebuild the durable state: %w", err)
	}
	if err := f.reset(); err != nil {
		return err
	}
	return f.mount()
}

// Close unmounts the filesystem; the backing directory keeps what the
// programs last saw (no power cut).
func (f *FS) Close() error {
	f.mu.Lock()
	server := f.server
	f.server = nil
	f.mu.Unlock()
	if server == nil {
		return nil
	}
	if err := unmount(server); err != nil {
		// Still in use: detach it so that the directory can be removed;
		// the serving loop ends when the last file is closed.
		_ = syscall.Unmount(f.mnt, syscall.MNT_DETACH)
		return err
	}
	return nil
}

// unmountAttempts and unmountRetry bound the wait for the kernel to
// release a mount whose last user has just exited.
const (
	unmountAttempts = 10
	unmountRetry    = 50 * time.Millisecond
)

// server is a mounted FUSE server (fuse.Server).
type server interface {
	Unmount() error
	Wait()
}

// unmount unmounts server and waits for its loop to end.
func unmount(server server) error {
	var err error
	for range unmountAttempts {
		if err = server.Unmount(); err == nil {
			server.Wait()
			return nil
		}
		time.Sleep(unmountRetry)
	}
	return fmt.Errorf("powercut: unmount: %w", err)
}

// reset takes the backing directory as the durable state.
func (f *FS) reset() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	dirs, files, ids, err := scan(f.backing, &f.nextID)
	if err != nil {
		return fmt.Errorf("powercut: scan %s: %w", f.backing, err)
	}
	f.dirs, f.files, f.ids, f.last = dirs, files, ids, nil
	return nil
}

// check runs the fault hook; the caller holds mu.
func (f *FS) check(op Op) syscall.Errno {
	if f.fault == nil {
		return 0
	}
	if errno := f.fault(op); errno != 0 {
		f.stats.Faults++
		return errno
	}
	return 0
}

// fileFor returns the id of the file with backing inode ino, giving a
// file the model has not seen (created behind its back) an empty durable
// state. The caller holds mu.
func (f *FS) fileFor(ino uint64) uint64 {
	if id, ok := f.ids[ino]; ok {
		return id
	}
	f.nextID++
	id := f.nextID
	f.ids[ino] = id
	f.files[id] = newFile(nil)
	return id
}

// emulated reports whether this ARM binary runs under qemu user
// emulation: the kernel (whose architecture qemu does not disguise in
// /proc/sys/kernel/arch) is not an ARM one. Unknown counts as emulated.
func emulated() bool {
	if runtime.GOARCH != "arm" && runtime.GOARCH != "arm64" {
		return false
	}
	b, err := os.ReadFile("/proc/sys/kernel/arch")
	if err != nil {
		return true
	}
	arch := strings.TrimSpace(string(b))
	return !strings.HasPrefix(arch, "arm") && !strings.HasPrefix(arch, "aarch64")
}
