package agent

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

// An agent without sensors stays healthy (its sampler has no loop to make
// progress), while one whose sensor loops stopped does not: the systemd
// watchdog must not kill a command-only agent.
func TestHealthWithoutSensors(t *testing.T) {
	cfg := testConfig(t, `
[device]
id = "no-sensors"
[server]
url = "http://127.0.0.1:1"
[outbox]
path = %q
[agent]
runtime_dir = %q
`)
	a, err := New(Options{Config: cfg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	run, err := a.startSampler(cfg.Sensors)
	if err != nil {
		t.Fatal(err)
	}
	a.setSampler(run)
	defer run.halt()
	later := time.Now().Add(time.Hour)
	a.batch.progress.Store(later.UnixNano())
	if err := a.healthy(later); err != nil {
		t.Fatalf("an agent without sensors is unhealthy: %v", err)
	}

	b, _ := startTestAgent(t, newFakeHardware("GPIO27", "GPIO17"))
	b.batch.progress.Store(later.UnixNano())
	if err := b.healthy(later); err == nil || !strings.Contains(err.Error(), "sampler") {
		t.Fatalf("an hour without sampler progress: %v, want a sampler error", err)
	}
	if err := b.healthy(time.Now()); err != nil {
		t.Fatalf("a fresh agent is unhealthy: %v", err)
	}
}
