package agent

import (
	"context"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/sensors/clock"
)

// Status lists the oldest dead letters with their reasons, so an operator
// sees why batches were set aside without stopping the agent.
func TestStatusListsDeadLetters(t *testing.T) {
	a, _ := startTestAgent(t, newFakeHardware("GPIO27", "GPIO17"))
	var seqs []uint64
	for i := range deadLetterSample + 2 {
		seq, err := outbox.Enqueue(context.Background(), a.st, 1, "application/octet-stream", []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
	}
	for _, seq := range seqs {
		if err := a.st.DeadLetter(seq, "refused: bad_request"); err != nil {
			t.Fatal(err)
		}
	}
	s := a.Status()
	if s.Outbox.DeadLetters != uint64(len(seqs)) || len(s.Outbox.DeadLetterSample) != deadLetterSample {
		t.Fatalf("status: %d dead letters, sample %v", s.Outbox.DeadLetters, s.Outbox.DeadLetterSample)
	}
	for i, d := range s.Outbox.DeadLetterSample {
		if d.Seq != seqs[i] || !strings.Contains(d.Reason, "bad_request") || d.At.IsZero() {
			t.Errorf("sample %d: %+v, want seq %d with its reason", i, d, seqs[i])
		}
	}
	if line := s.statusLine(); !strings.Contains(line, "outbox 0 queued, 7 dead letters") {
		t.Errorf("STATUS= line %q", line)
	}
}

// Status shows the outbox's window: auto (AutoWindowInitial before any
// ack) by default, or the fixed number of outbox.window.
func TestStatusShowsTheWindow(t *testing.T) {
	for _, c := range []struct {
		outbox string
		want   int
	}{{"", outbox.AutoWindowInitial}, {"window = \"auto\"\n", outbox.AutoWindowInitial}, {"window = 8\n", 8}} {
		toml := strings.Replace(builtinsTOML, "[outbox]\n", "[outbox]\n"+c.outbox, 1)
		a, err := New(Options{Config: testConfig(t, toml), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Status().Outbox.Window; got != c.want {
			t.Errorf("[outbox] %q: status window %d, want %d", c.outbox, got, c.want)
		}
		stopTestAgent(t, a)
	}
}

// A status socket left by a dead process is replaced; one that another
// live agent serves is not taken over.
func TestStatusSocketTakeover(t *testing.T) {
	a, _ := startTestAgent(t, newFakeHardware("GPIO27", "GPIO17"))
	path := StatusSocketPath(a.cfg.Agent.RuntimeDir)
	if err := os.MkdirAll(a.cfg.Agent.RuntimeDir, 0o750); err != nil {
		t.Fatal(err)
	}
	// A stale socket: bound, then its listener gone without unlinking.
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	srv, err := a.serveStatus()
	if err != nil {
		t.Fatalf("a stale socket blocked the status socket: %v", err)
	}
	// A second agent with the same runtime directory must not steal it.
	if _, err := a.serveStatus(); err == nil || !strings.Contains(err.Error(), "another agent") {
		t.Fatalf("second serveStatus = %v, want a refusal", err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("the first agent's socket is gone: %v", err)
	}
	c.Close()
	srv.close()
}

// With [clock] trust = "system" the agent's own clock trusts the wall
// clock without asking the system, and the status says so.
func TestClockTrustSystem(t *testing.T) {
	cfg := testConfig(t, builtinsTOML)
	cfg.Clock.Trust = config.ClockTrustSystem
	a, err := New(Options{Config: cfg, Hardware: newFakeHardware("GPIO27", "GPIO17"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	st := a.Status().Clock
	if !st.Synced || st.Source != clock.SourceTrusted || st.Trust != config.ClockTrustSystem {
		t.Errorf("clock status %+v, want synced, trusted by configuration", st)
	}
	if !a.clock.Now().Synced {
		t.Error("readings would not be stamped as synchronised")
	}
}
