package agent

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
)

// If delivery ends by itself (here: the outbox file is closed under the
// drainer), Run does not go on sampling and petting the watchdog while
// delivering nothing: it stops and returns an error, so systemd restarts
// the agent.
func TestRunEndsWhenDeliveryStops(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	cfg := testConfig(t, strings.Replace(builtinsTOML, "http://127.0.0.1:1", srv.URL(), 1))
	a, err := New(Options{Config: cfg, Hardware: newFakeHardware("GPIO27", "GPIO17"), Logger: slog.New(slog.DiscardHandler), Notify: func(string) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(context.Background()) }()
	deadline := time.Now().Add(10 * time.Second)
	for (a.sampler() == nil || !a.sock.Connected()) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	a.st.Close()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "delivery stopped") {
			t.Fatalf("Run = %v, want a delivery error", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run went on after delivery stopped")
	}
}

// Reload never blocks, also when called from many goroutines at once and
// when nobody applies the reloads.
func TestReloadNeverBlocks(t *testing.T) {
	cfg := testConfig(t, builtinsTOML)
	a, err := New(Options{Config: cfg, Hardware: newFakeHardware("GPIO27", "GPIO17"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			go a.Reload(cfg)
		}
		for range 100 {
			a.Reload(cfg)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Reload blocked")
	}
	time.Sleep(50 * time.Millisecond) // let the spawned calls finish before goleak
}
