package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/sioagent/sioagent/agent"
	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors/drivers"
	"github.com/sioagent/sioagent/store"
)

// The agent's configuration in the soak.
const (
	deviceID          = "soak"
	reconnectDelay    = 200 * time.Millisecond
	reconnectDelayMax = 2 * time.Second
	ackTimeout        = 2 * time.Second
	batchMaxRecords   = 20
	batchMaxDelay     = 200 * time.Millisecond
	shutdownTimeout   = 5 * time.Second
	// agentStopTimeout bounds how long Run may take to return once its
	// context is cancelled: the shutdown deadline plus a margin.
	agentStopTimeout = shutdownTimeout + 10*time.Second
	// stopGrace is how long Run may take beyond shutdownTimeout before
	// its stop counts as slow (and, with -v, the goroutines are dumped).
	stopGrace = time.Second
	// agentVersion is reported in the agent's auth payload.
	agentVersion = "agentsoak"
)

// sensorIntervals are the sampling intervals of the three sim sensors.
var sensorIntervals = [3]time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}

// agentConfig builds the agent's configuration through config.Parse, as
// the agent would load it from a file: outbox and runtime directory in
// dir, server at url.
func agentConfig(dir, url string) (*config.Config, error) {
	toml := fmt.Sprintf(`[device]
id = %q
[server]
url = %q
token_file = ""
reconnect_delay = %q
reconnect_delay_max = %q
ack_timeout = %q
[outbox]
path = %q
[telemetry]
batch_max_records = %d
batch_max_delay = %q
[agent]
runtime_dir = %q
shutdown_timeout = %q
[[sensors]]
name = "counter"
driver = "sim"
signal = "counter"
interval = %q
[[sensors]]
name = "temperature"
driver = "sim"
signal = "sine"
quantity = "temperature"
unit = "Cel"
interval = %q
offset = 21.5
amplitude = 3.0
period = 30
[[sensors]]
name = "humidity"
driver = "sim"
signal = "random-walk"
quantity = "humidity"
unit = "%%RH"
interval = %q
seed = 7
offset = 55.0
step = 0.5
min = 30.0
max = 80.0
`, deviceID, url, reconnectDelay, reconnectDelayMax, ackTimeout,
		filepath.Join(dir, "outbox.db"), batchMaxRecords, batchMaxDelay,
		filepath.Join(dir, "run"), shutdownTimeout,
		sensorIntervals[0], sensorIntervals[1], sensorIntervals[2])
	cfg, err := config.Parse("agentsoak.toml", []byte(toml), nil, drivers.New())
	if err != nil {
		return nil, fmt.Errorf("agent config: %w", err)
	}
	return cfg, nil
}

// agentTotals sums the figures of every agent run of the soak.
type agentTotals struct {
	Runs        int // agent.New + Run calls
	Connects    int // ConnStatus.Connects
	Recoveries  int
	Batches     uint64 // batches the batcher stored in the outbox
	Readings    uint64
	LostReads   uint64 // readings the batcher could not store
	Sent        uint64 // telemetry emits, resends included
	Acked       uint64
	Duplicates  uint64 // acks that said duplicate
	Rejected    uint64
	Timeouts    uint64
	Depth       uint64 // outbox depth of the running agent (0 when none runs)
	SlowestStop time.Duration
	SlowStops   int // stops that took longer than shutdownTimeout + stopGrace
}

// add adds the counters of one agent's status.
func (t *agentTotals) add(s agent.Status) {
	t.Connects += s.Conn.Connects
	t.Recoveries += s.Conn.Recoveries
	t.Batches += s.Batches.Batches
	t.Readings += s.Batches.Readings
	t.LostReads += s.Batches.Lost
	t.Sent += s.Outbox.Sent
	t.Acked += s.Outbox.Acked
	t.Duplicates += s.Outbox.Duplicates
	t.Rejected += s.Outbox.Rejected
	t.Timeouts += s.Outbox.Timeouts
}

// agentRunner runs one agent at a time on the same configuration (so the
// same outbox), and restarts it in process. Its methods are called from
// one goroutine.
type agentRunner struct {
	cfg    *config.Config
	logger *slog.Logger
	tr     *tracer
	// slow receives a note, and with verbose the goroutine stacks, when
	// a stop is slow.
	slow    io.Writer
	verbose bool

	cur    *agent.Agent
	cancel context.CancelFunc
	done   chan struct{} // closed when cur's Run returned
	err    error         // cur's Run error, once done is closed
	runs   int
	past   agentTotals // of the agents that stopped
}

// start creates an agent on the outbox and runs it.
func (r *agentRunner) start() error {
	a, err := agent.New(agent.Options{
		Config:  r.cfg,
		Logger:  r.logger,
		Version: agentVersion,
		Notify:  func(string) error { return nil }, // never talk to a real systemd
	})
	if err != nil {
		return fmt.Errorf("agent run %d: %w", r.runs+1, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cur, r.cancel, r.done, r.err = a, cancel, make(chan struct{}), nil
	r.runs++
	r.tr.printf("agent run %d starts", r.runs)
	done := r.done
	go func() {
		defer close(done)
		r.err = a.Run(ctx)
	}()
	return nil
}

// exited is closed when the running agent's Run returned; nil (never
// ready) when no agent runs.
func (r *agentRunner) exited() <-chan struct{} {
	if r.cur == nil {
		return nil
	}
	return r.done
}

// exitErr is the error Run returned, once exited is closed.
func (r *agentRunner) exitErr() error { return r.err }

// stop cancels the running agent and waits up to agentStopTimeout for Run
// to return; it returns Run's error, or an error if it did not return.
// It does nothing when no agent runs.
func (r *agentRunner) stop() error {
	if r.cur == nil {
		return nil
	}
	began := time.Now()
	r.cancel()
	if !r.wait(shutdownTimeout + stopGrace) {
		r.past.SlowStops++
		fmt.Fprintf(r.slow, "agentsoak: agent run %d: Run has not returned %v after its cancellation (shutdown_timeout %v)\n", r.runs, shutdownTimeout+stopGrace, shutdownTimeout)
		if r.verbose {
			_ = pprof.Lookup("goroutine").WriteTo(r.slow, 1)
		}
		if !r.wait(agentStopTimeout - shutdownTimeout - stopGrace) {
			return fmt.Errorf("agent run %d: Run did not return within %v of its cancellation", r.runs, agentStopTimeout)
		}
	}
	took := time.Since(began)
	r.past.SlowestStop = max(r.past.SlowestStop, took)
	st := r.cur.Status()
	r.past.add(st)
	r.tr.printf("agent run %d stopped in %v: %d connects, outbox depth %d", r.runs, took.Round(time.Millisecond), st.Conn.Connects, st.Outbox.Depth)
	r.cur = nil
	if r.err != nil {
		return fmt.Errorf("agent run %d: %w", r.runs, r.err)
	}
	return nil
}

// wait waits up to d for the running agent's Run to return, and reports
// whether it did.
func (r *agentRunner) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.done:
		return true
	case <-t.C:
		return false
	}
}

// restart stops the agent and starts a new one on the same outbox.
func (r *agentRunner) restart() error {
	if err := r.stop(); err != nil {
		return err
	}
	return r.start()
}

// totals returns the figures of every run so far, the running one
// included.
func (r *agentRunner) totals() agentTotals {
	t := r.past
	t.Runs = r.runs
	if r.cur != nil {
		st := r.cur.Status()
		t.add(st)
		t.Depth = st.Outbox.Depth
	}
	return t
}

// drain waits up to timeout for the running agent's outbox to be empty,
// and reports whether it was and how long the wait took.
func (r *agentRunner) drain(timeout time.Duration) (bool, time.Duration) {
	began := time.Now()
	if r.cur == nil {
		return false, 0
	}
	deadline := began.Add(timeout)
	for {
		select {
		case <-r.done:
			return false, time.Since(began) // Run returned by itself: nothing drains
		default:
		}
		st := r.cur.Status().Outbox
		if st.Depth == 0 {
			return true, time.Since(began)
		}
		if time.Now().After(deadline) {
			r.tr.printf("drain: outbox depth still %d after %v", st.Depth, timeout)
			return false, time.Since(began)
		}
		time.Sleep(drainPoll)
	}
}

// outboxFigures is what the outbox file holds once the last agent stopped.
type outboxFigures struct {
	NextSeq     uint64 // the seq the next record would get
	Left        uint64 // records still queued
	Dropped     uint64 // records deleted by a bound
	DeadLetters uint64
	Quarantined uint64
}

// produced is the highest seq the outbox gave out: seqs 1..produced were
// produced.
func (f outboxFigures) produced() uint64 {
	if f.NextSeq == 0 {
		return 0
	}
	return f.NextSeq - 1
}

// readOutbox opens the outbox file (no agent may hold it) and reads its
// counters.
func readOutbox(path string) (outboxFigures, error) {
	st, err := store.Open(path, nil)
	if err != nil {
		return outboxFigures{}, fmt.Errorf("reading the outbox: %w", err)
	}
	s := st.Stats()
	if err := st.Close(); err != nil {
		return outboxFigures{}, fmt.Errorf("closing the outbox %s: %w", path, err)
	}
	return outboxFigures{
		NextSeq: s.NextSeq, Left: s.Count, Dropped: s.Drops.Total(),
		DeadLetters: s.DeadLetters, Quarantined: s.Quarantined,
	}, nil
}
