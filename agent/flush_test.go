package agent

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/telemetry"
)

// flushDeadline is far beyond anything flush should wait here: a flush
// that returns only at it did not notice what it waits for.
const flushDeadline = 20 * time.Second

// flushAgent returns an agent for url with n batches queued and its
// drainer running until the test ends.
func flushAgent(t *testing.T, url string, n int) *Agent {
	t.Helper()
	return flushAgentWith(t, url, n, func(*config.Config) {})
}

// flushAgentWith is flushAgent with the config changed by edit first.
func flushAgentWith(t *testing.T, url string, n int, edit func(*config.Config)) *Agent {
	t.Helper()
	cfg := testConfig(t, strings.Replace(builtinsTOML, "http://127.0.0.1:1", url, 1))
	edit(cfg)
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

// Connected but never acked, flush notices the disconnection (the socket's
// State changes) and gives up offlineGrace later, not at the deadline.
func TestFlushNoticesADisconnection(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	a := flushAgentWith(t, srv.URL(), 0, func(c *config.Config) {
		c.Telemetry.Event = "unanswered" // no handler on the server: no ack
	})
	batch, err := a.codec.Encode([]sensors.Reading{{Sensor: "s", Quantity: "q", Value: 1, Time: time.Now(), Synced: true}})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // valid batches: they wait for their acks, not dead-lettered
		if _, err := outbox.Enqueue(context.Background(), a.st, 1, telemetry.ContentTypeReadings, batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.sock.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		a.flush(start.Add(flushDeadline))
		done <- time.Since(start)
	}()
	srv.Stop()
	took := <-done
	if n := a.st.Stats().Count; n != 3 {
		t.Fatalf("%d records left, want the 3 queued", n)
	}
	if took >= flushDeadline/2 {
		t.Fatalf("flush took %v after the server went away: it did not notice the disconnection", took)
	}
}
