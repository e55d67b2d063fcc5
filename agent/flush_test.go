package agent

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/telemetry"
)

// flushDeadline is far beyond anything flush should wait here: a flush
// that returns only at it did not notice what it waits for.
const flushDeadline = 20 * time.Second

// flushAgent returns an agent for url with n batches queued and its
// drainer running until the test ends.
func flushAgent(t *testing.T, url string, n int) *Agent {
	t.Helper()
	cfg := testConfig(t, strings.Replace(builtinsTOML, "http://127.0.0.1:1", url, 1))
	a, err := New(Options{Config: cfg, Hardware: newFakeHardware("GPIO27", "GPIO17"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		if _, err := outbox.Enqueue(context.Background(), a.st, 1, telemetry.ContentTypeReadings, []byte{0xa0}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.drainer.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		a.Close()
	})
	return a
}

// Connected, flush returns once the drainer emptied the outbox: it wakes
// at the removal (Drainer.Removed), not at the deadline.
func TestFlushEndsWhenTheOutboxIsEmpty(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	a := flushAgent(t, srv.URL(), 5)
	if err := a.sock.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	a.flush(start.Add(flushDeadline))
	if n := a.st.Stats().Count; n != 0 {
		t.Fatalf("%d records left after flush", n)
	}
	if took := time.Since(start); took >= flushDeadline/2 {
		t.Fatalf("flush took %v: it did not notice the outbox emptied", took)
	}
}

// Offline, flush gives up after offlineGrace and leaves the records.
func TestFlushGivesUpOffline(t *testing.T) {
	a := flushAgent(t, "http://127.0.0.1:1", 3)
	start := time.Now()
	a.flush(start.Add(flushDeadline))
	took := time.Since(start)
	if n := a.st.Stats().Count; n != 3 {
		t.Fatalf("%d records left, want the 3 queued", n)
	}
	if took < offlineGrace || took >= flushDeadline/2 {
		t.Fatalf("flush took %v offline, want about offlineGrace (%v)", took, offlineGrace)
	}
}
