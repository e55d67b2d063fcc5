package clock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/testenv"
)

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// fakeAdjtimex returns a scripted state and counts calls.
type fakeAdjtimex struct {
	state, status int
	err           error
	calls         atomic.Int32
}

func (f *fakeAdjtimex) query() (int, int, error) {
	f.calls.Add(1)
	return f.state, f.status, f.err
}

func newTestClock(t *testing.T, adj *fakeAdjtimex, every time.Duration) (*Clock, string) {
	t.Helper()
	dir := t.TempDir()
	boot := filepath.Join(dir, "boot_id")
	writeFile(t, boot, "6f1c2d3e-aaaa-bbbb-cccc-0123456789ab\n")
	sync := filepath.Join(dir, "synchronized")
	c, err := New(Options{SyncFile: sync, BootIDFile: boot, Adjtimex: adj.query, CheckEvery: every})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, sync
}

func TestSynced(t *testing.T) {
	tests := []struct {
		name     string
		file     bool
		adj      *fakeAdjtimex
		want     bool
		wantCall bool
	}{
		{"file present", true, &fakeAdjtimex{state: TimeError, status: StaUnsync}, true, false},
		{"kernel synced", false, &fakeAdjtimex{state: 0, status: 0x2001}, true, true},
		{"kernel TIME_ERROR", false, &fakeAdjtimex{state: TimeError, status: 0}, false, true},
		{"kernel STA_UNSYNC", false, &fakeAdjtimex{state: 0, status: StaUnsync | 1}, false, true},
		{"adjtimex EPERM is unknown", false, &fakeAdjtimex{err: syscall.EPERM}, false, true},
		{"adjtimex EPERM, file present", true, &fakeAdjtimex{err: syscall.EPERM}, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, sync := newTestClock(t, tc.adj, -1)
			if tc.file {
				writeFile(t, sync, "")
			}
			if got := c.Synced(); got != tc.want {
				t.Fatalf("Synced = %v, want %v", got, tc.want)
			}
			if called := tc.adj.calls.Load() > 0; called != tc.wantCall {
				t.Fatalf("adjtimex called = %v, want %v", called, tc.wantCall)
			}
			if st := c.Now(); st.Synced != tc.want {
				t.Fatalf("Now().Synced = %v", st.Synced)
			}
		})
	}
}

// TestSyncSource: Sync names where the answer comes from, and
// TrustSystem trusts the clock without asking the file or the kernel.
func TestSyncSource(t *testing.T) {
	adj := &fakeAdjtimex{state: TimeError, status: StaUnsync}
	c, sync := newTestClock(t, adj, -1)
	if ok, src := c.Sync(); ok || src != "" {
		t.Errorf("unsynchronised: Sync = %v, %q", ok, src)
	}
	adj.state, adj.status = 0, 0
	if ok, src := c.Sync(); !ok || src != SourceKernel {
		t.Errorf("kernel synced: Sync = %v, %q", ok, src)
	}
	writeFile(t, sync, "")
	if ok, src := c.Sync(); !ok || src != SourceSyncFile {
		t.Errorf("sync file: Sync = %v, %q", ok, src)
	}

	unsynced := &fakeAdjtimex{state: TimeError, status: StaUnsync}
	dir := t.TempDir()
	boot := filepath.Join(dir, "boot_id")
	writeFile(t, boot, "6f1c2d3e-aaaa-bbbb-cccc-0123456789ab\n")
	trusted, err := New(Options{SyncFile: filepath.Join(dir, "none"), BootIDFile: boot, Adjtimex: unsynced.query, TrustSystem: true})
	if err != nil {
		t.Fatal(err)
	}
	if ok, src := trusted.Sync(); !ok || src != SourceTrusted || !trusted.Now().Synced {
		t.Errorf("TrustSystem: Sync = %v, %q; Now().Synced = %v", ok, src, trusted.Now().Synced)
	}
	if n := unsynced.calls.Load(); n != 0 {
		t.Errorf("TrustSystem asked the kernel %d times", n)
	}
}

func TestNowStamp(t *testing.T) {
	c, _ := newTestClock(t, &fakeAdjtimex{state: TimeError}, 0)
	a := c.Now()
	b := c.Now()
	if a.Boot != "6f1c2d3e-aaaa-bbbb-cccc-0123456789ab" || c.Boot() != a.Boot {
		t.Fatalf("boot = %q", a.Boot)
	}
	if a.Mono <= 0 || b.Mono < a.Mono || time.Since(a.Wall) < 0 || a.Synced {
		t.Fatalf("stamps %+v then %+v", a, b)
	}
}

func TestCheckEveryCaches(t *testing.T) {
	adj := &fakeAdjtimex{state: TimeError}
	c, sync := newTestClock(t, adj, time.Hour)
	if c.Synced() {
		t.Fatal("synced at start")
	}
	writeFile(t, sync, "")
	if c.Synced() {
		t.Fatal("cached state was not used")
	}
	if n := adj.calls.Load(); n != 1 {
		t.Fatalf("adjtimex called %d times within CheckEvery", n)
	}
	c.mu.Lock()
	c.checked = time.Now().Add(-2 * time.Hour) // the cache expires
	c.mu.Unlock()
	if !c.Synced() {
		t.Fatal("sync file not seen after the cache expired")
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	writeFile(t, empty, "\n")
	for _, path := range []string{filepath.Join(dir, "missing"), empty} {
		if _, err := New(Options{BootIDFile: path}); err == nil {
			t.Errorf("New with boot id file %s succeeded", path)
		} else if !errors.Is(err, os.ErrNotExist) && path != empty {
			t.Errorf("error %v does not wrap the cause", err)
		}
	}
}

func TestDefaultsOnThisMachine(t *testing.T) {
	if _, err := os.Stat(DefaultBootIDFile); err != nil {
		testenv.SkipUnlessRequired(t, testenv.RequireBootID, "no boot id file here (%v)", err)
	}
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := c.Now()
	if st.Boot == "" || st.Mono <= 0 {
		t.Fatalf("stamp %+v", st)
	}
	// The real adjtimex query either works or fails; it must not panic.
	if _, _, err := queryAdjtimex(); err != nil {
		t.Logf("adjtimex: %v", err)
	}
}

func ExampleNew() {
	dir, err := os.MkdirTemp("", "clock")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	boot := filepath.Join(dir, "boot_id")
	if err := os.WriteFile(boot, []byte("0b7e1d9c-0000-4000-8000-000000000001\n"), 0o600); err != nil {
		panic(err)
	}
	c, err := New(Options{
		SyncFile:   filepath.Join(dir, "synchronized"), // absent: not synced by timesyncd
		BootIDFile: boot,
		Adjtimex:   func() (int, int, error) { return TimeError, StaUnsync, nil },
	})
	if err != nil {
		panic(err)
	}
	st := c.Now()
	fmt.Println(st.Boot, st.Synced)
	// Output: 0b7e1d9c-0000-4000-8000-000000000001 false
}
