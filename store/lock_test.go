package store

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

const lockTimeout = 300 * time.Millisecond

// checkLockedWithin checks that Open failed with ErrLocked after about
// LockTimeout: not at once (it did wait) and not much later (no hang).
// bbolt polls the lock every 50 ms and gives up one poll early.
func checkLockedWithin(t *testing.T, err error, took time.Duration) {
	t.Helper()
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if took < lockTimeout/2 || took > lockTimeout+2*time.Second {
		t.Fatalf("second Open failed after %v, LockTimeout %v", took, lockTimeout)
	}
}

// bbolt's flock is per open file description, so a second Open in the
// same process conflicts too.
func TestSecondOpenLocked(t *testing.T) {
	s, path := openTest(t, nil)
	mustAppend(t, s, []byte("x"))
	start := time.Now()
	s2, err := Open(path, &Options{LockTimeout: lockTimeout})
	took := time.Since(start)
	if err == nil {
		s2.Close()
	}
	checkLockedWithin(t, err, took)
	// The first store is unaffected.
	mustAppend(t, s, []byte("y"))
}

// A second process (this test binary, re-executed) gets ErrLocked.
func TestSecondProcessLocked(t *testing.T) {
	s, path := openTest(t, nil)
	mustAppend(t, s, []byte("x"))

	cmd := childCommand("lock", path)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		skipIfCannotExec(t, err)
		t.Fatalf("child: %v\n%s", err, out)
	}
	line := strings.TrimSpace(string(out))
	var ms int64
	if _, err := fmt.Sscanf(line, "locked %d", &ms); err != nil {
		t.Fatalf("child said %q", line)
	}
	checkLockedWithin(t, ErrLocked, time.Duration(ms)*time.Millisecond)
	t.Logf("child got ErrLocked after %d ms (process ran %v)", ms, took)

	// Once the first store closes, the file opens again.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openAt(t, path, &Options{LockTimeout: lockTimeout})
	if st := s2.Stats(); st.Count != 1 {
		t.Fatalf("Count = %d", st.Count)
	}
}

// childLock opens STORE_TEST_PATH and reports "locked <ms>" on ErrLocked.
func childLock() int {
	start := time.Now()
	s, err := Open(os.Getenv("STORE_TEST_PATH"), &Options{LockTimeout: lockTimeout})
	if err == nil {
		s.Close()
		fmt.Println("opened: the lock did not hold")
		return 1
	}
	if !errors.Is(err, ErrLocked) {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("locked", time.Since(start).Milliseconds())
	return 0
}
