package store

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/goleak"
)

// childEnv, when set, makes the test binary act as a helper process (see
// runChild) instead of running tests.
const childEnv = "STORE_TEST_CHILD"

// modelChecks is how many random runs TestModel makes by default (rapid's
// own default is 100); -rapid.checks or RAPID_CHECKS override it.
const modelChecks = 300

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	flag.Parse()
	if !flagSet("rapid.checks") && os.Getenv("RAPID_CHECKS") == "" {
		_ = flag.Set("rapid.checks", strconv.Itoa(modelChecks))
	}
	goleak.VerifyTestMain(m)
}

// flagSet reports whether the named flag was given on the command line.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// runChild dispatches the helper-process modes used by lock_test.go and
// crash_test.go.
func runChild(mode string) int {
	switch mode {
	case "lock":
		return childLock()
	case "append":
		return childAppend()
	case "powercut":
		return childPowerCut()
	case "cutcheck":
		return childCutCheck()
	case "iofault":
		return childIOFault()
	}
	return 2
}

// childCommand returns a command that runs this test binary as a helper
// process in the given mode on the database at path.
func childCommand(mode, path string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, "STORE_TEST_PATH="+path)
	return cmd
}

// skipIfCannotExec skips a test whose helper process could not start
// because the binary runs under an emulator the kernel does not know
// (qemu-arm without binfmt_misc).
func skipIfCannotExec(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, syscall.ENOEXEC) {
		t.Skipf("cannot re-execute the test binary (%v): emulated without binfmt_misc", err)
	}
}

// fakeClock is a settable clock for Options.Clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newPath returns a database path in a fresh temporary directory and
// registers a consistency check of that file, run after the test's stores
// are closed.
func newPath(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "outbox.db")
	t.Cleanup(func() { checkFile(t, path) })
	return path
}

// openAt opens a store at path and closes it when the test ends.
func openAt(t testing.TB, path string, opts *Options) *Store {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// openTest opens a store in a fresh temporary directory.
func openTest(t testing.TB, opts *Options) (*Store, string) {
	t.Helper()
	path := newPath(t)
	return openAt(t, path, opts), path
}

// checkFile verifies a closed database file: bbolt's consistency check,
// every record's envelope, and the meta counters against a full scan.
func checkFile(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return
	}
	if err := verifyFile(path); err != nil {
		t.Errorf("check %s: %v", path, err)
	}
}

func verifyFile(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		if tx.Bucket(bucketRecords) == nil {
			return nil // never initialised
		}
		var stored meta
		if err := stored.decode(tx.Bucket(bucketMeta).Get(keyState)); err != nil {
			return err
		}
		if live := recount(tx); !sameLive(stored, live) {
			return errors.New("meta counters disagree with a full scan")
		}
		var prev uint64
		return tx.Bucket(bucketRecords).ForEach(func(k, v []byte) error {
			rec, err := decodeRecord(k, v)
			if err != nil {
				return err
			}
			if rec.Seq <= prev {
				return errors.New("seqs out of order")
			}
			prev = rec.Seq
			return nil
		})
	})
}

// scanStats computes by a full scan what Stats keeps in O(1).
func scanStats(t testing.TB, s *Store) (count, size uint64, next uint64) {
	t.Helper()
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRecords)
		next = b.Sequence() + 1
		return b.ForEach(func(k, v []byte) error {
			count++
			size += uint64(len(k) + len(v))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return count, size, next
}

// data returns a recognisable record of n bytes.
func data(i, n int) []byte {
	b := bytes.Repeat([]byte{byte(i)}, n)
	if n >= 4 {
		copy(b, []byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
	}
	return b
}
