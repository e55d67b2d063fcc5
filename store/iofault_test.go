package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/powercut"
	"github.com/sioagent/sioagent/internal/testenv"
)

// ioFaultWait bounds how long the I/O-fault child may take to hit its
// fault and report.
const ioFaultWait = 30 * time.Second

// TestPowerCutIOFaults fails one write or fsync of the database file on
// the power-cut filesystem while a child appends, then cuts the power.
// A failed fsync or a write I/O error must stop the store's writes for
// good (ErrFailed; the handle may show commits the disk does not hold);
// a write refused for lack of space is ErrDiskFull and the store goes
// on. Either way every record whose Append returned is there after the
// cut, and the file checks clean.
func TestPowerCutIOFaults(t *testing.T) {
	for _, tc := range []struct {
		name      string
		kind      powercut.OpKind
		errno     syscall.Errno
		wantFirst string // the class of the first failed Append
		wantNext  string // the class of the Append after it
	}{
		{"fsync EIO", powercut.Fsync, syscall.EIO, "failed", "failed"},
		{"write EIO", powercut.Write, syscall.EIO, "failed", "failed"},
		{"write ENOSPC", powercut.Write, syscall.ENOSPC, "diskfull", "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := powercut.Mount(t)
			path := filepath.Join(fs.Dir(), "outbox.db")
			bootPath := filepath.Join(t.TempDir(), "boot_id")
			if err := os.WriteFile(bootPath, []byte("boot-a\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			seen, failed := 0, false
			fs.SetFault(func(op powercut.Op) syscall.Errno {
				if op.Kind != tc.kind || op.Path != "outbox.db" || failed {
					return 0
				}
				if seen++; seen == 40 { // well into the run
					failed = true
					return tc.errno
				}
				return 0
			})
			cmd := childCommand("iofault", path)
			cmd.Env = append(cmd.Env, "STORE_TEST_BOOTID="+bootPath)
			var out, stderr testenv.Buffer
			cmd.Stdout, cmd.Stderr = &out, &stderr
			if err := cmd.Start(); err != nil {
				skipIfCannotExec(t, err)
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("child: %v\n%s", err, stderr.String())
				}
			case <-time.After(ioFaultWait):
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("the child did not report its fault; output:\n%s\n%s", out.String(), stderr.String())
			}
			first, next := "", ""
			for _, line := range strings.Split(out.String(), "\n") {
				if c, ok := strings.CutPrefix(line, "E "); ok {
					first, _, _ = strings.Cut(c, " ")
				}
				if c, ok := strings.CutPrefix(line, "N "); ok {
					next = c
				}
			}
			if first != tc.wantFirst || next != tc.wantNext {
				t.Fatalf("first failed Append: %q, the next: %q; want %q, %q\n%s", first, next, tc.wantFirst, tc.wantNext, stderr.String())
			}
			fs.SetFault(nil)
			if err := fs.PowerCut(powercut.CutOptions{}); err != nil {
				t.Fatal(err)
			}
			log := parseCutLog(out.String())
			if len(log.appended) == 0 {
				t.Fatal("no Append returned before the fault")
			}
			checkAfterCut(t, 0, path, bootPath, log, 0)
		})
	}
}

// childIOFault appends until an Append fails, prints the error's class
// ("E <class> <err>"), tries one more Append and prints its class ("N
// <class>"), then closes the store and exits.
func childIOFault() int {
	path := os.Getenv("STORE_TEST_PATH")
	s, err := Open(path, &Options{LockTimeout: 5 * time.Second, bootIDPath: os.Getenv("STORE_TEST_BOOTID")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	defer s.Close()
	fmt.Println("ready")
	for counter := uint64(0); ; counter++ {
		seq, err := s.Append(context.Background(), cutRecord(0, counter))
		if err == nil {
			fmt.Printf("A %d 0 %d\n", seq, counter)
			continue
		}
		fmt.Printf("E %s %v\n", errClass(err), err)
		_, err = s.Append(context.Background(), cutRecord(0, counter))
		fmt.Printf("N %s\n", errClass(err))
		if errors.Is(err, ErrFailed) {
			select {
			case <-s.Failed():
			default:
				fmt.Println("N failed-not-closed")
			}
		}
		return 0
	}
}

// errClass names the kind of an Append error for the I/O-fault test.
func errClass(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrFailed):
		return "failed"
	case errors.Is(err, ErrDiskFull):
		return "diskfull"
	}
	return "other"
}
