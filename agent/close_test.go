package agent

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/sioagent/sioagent/store"
)

// Close after New (without Run) releases the outbox file, so another
// process or a retry can open it; Run after Close fails.
func TestCloseWithoutRun(t *testing.T) {
	cfg := testConfig(t, builtinsTOML)
	a, err := New(Options{Config: cfg, Hardware: newFakeHardware("GPIO27", "GPIO17"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	st, err := store.Open(cfg.Outbox.Path, &store.Options{LockTimeout: 1})
	if err != nil {
		t.Fatalf("the outbox is still locked after Close: %v", err)
	}
	st.Close()
	if err := a.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close: %v, want ErrClosed", err)
	}
}
