package ds18b20_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/sensors/ds18b20"
)

// fifoRetry is how often the test's writer tries the FIFO again.
const fifoRetry = 50 * time.Millisecond

// A FIFO stands in for a w1_slave whose read blocks while the kernel
// converts: opening it blocks until the test opens the writing end.
func TestReadReturnsWhenContextEnds(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, dev), 0o755); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, dev, "w1_slave")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	d, err := ds18b20.New(ds18b20.Options{Dir: dir, Device: dev})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = d.Read(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || kindOf(t, err) != sensors.KindTimeout {
		t.Fatalf("got %v", err)
	}

	// The kernel finishes: the next Read gets the in-flight result instead
	// of starting a second read. The writer opens without blocking and
	// writes until that Read returns: under qemu-user a signal can make
	// the reader's blocked open start again after a writer has come and
	// gone (CI saw the open hang for 10 minutes), and a later writer
	// meets it.
	readDone := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for {
			w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
			if err == nil {
				_, err = w.WriteString(fileNegative)
				if cerr := w.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					done <- err
					return
				}
			} else if !errors.Is(err, syscall.ENXIO) { // ENXIO: no reader yet
				done <- err
				return
			}
			select {
			case <-readDone:
				done <- nil
				return
			case <-time.After(fifoRetry):
			}
		}
	}()
	v, err := d.Read(context.Background())
	close(readDone)
	if err != nil || len(v) != 1 || v[0].Value != -10.125 {
		t.Fatalf("got %+v, %v", v, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// goleak in TestMain checks that the reading goroutine has ended.
}
