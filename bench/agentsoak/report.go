package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sioagent/sioagent/bench/internal/soakutil"
)

// report is everything the soak prints at the end.
type report struct {
	command     string
	opts        options
	soaked      time.Duration // until the faults stopped
	elapsed     time.Duration // until the end of the accounting
	interrupted bool
	runErr      error // why the soak stopped early or could not count, if it did
	drained     bool  // the outbox was empty before the last agent stopped
	drainTime   time.Duration
	outbox      outboxFigures
	agents      agentTotals
	faults      faultCounts
	acct        accounting
	mem         soakutil.Figures

	// Goroutine counts: at start, with the server and proxy running but
	// no agent yet, after the last agent stopped, and at the end (server
	// and proxy stopped).
	gStart, gBeforeAgent, gAfterAgent, gEnd int
}

// failures lists why the soak failed; none means it passed.
func (r *report) failures() []string {
	var f []string
	add := func(cond bool, format string, args ...any) {
		if cond {
			f = append(f, fmt.Sprintf(format, args...))
		}
	}
	a := r.acct
	add(r.runErr != nil, "stopped early: %v", r.runErr)
	add(a.Produced == 0, "the agent produced no batch")
	add(a.MissingCount > 0, "%d produced batches missing on the server: seqs %s", a.MissingCount, rangesString(a.Missing))
	add(len(a.Unexpected) > 0, "the server stored seqs the outbox never gave out: %s", rangesString(a.Unexpected))
	add(r.gAfterAgent > r.gBeforeAgent, "goroutines leaked by the agent: %d before it, %d after it stopped", r.gBeforeAgent, r.gAfterAgent)
	add(r.gEnd > r.gStart, "goroutines leaked: %d at start, %d at the end", r.gStart, r.gEnd)
	return f
}

// progressLine is the one-line summary printed every progressEvery.
func progressLine(elapsed, planned time.Duration, fc faultCounts, t agentTotals, mem soakutil.Figures) string {
	return fmt.Sprintf("agentsoak %v/%v: faults %s | agent runs %d, connects %d, batches %d, acked %d, dup %d, depth %d | heap %s peak %s | goroutines peak %d",
		elapsed.Round(time.Second), planned, fc, t.Runs, t.Connects, t.Batches, t.Acked, t.Duplicates, t.Depth,
		soakutil.MiB(mem.LastHeap), soakutil.MiB(mem.PeakHeap), mem.PeakGoroutines)
}

// String lists the counts by kind.
func (c faultCounts) String() string {
	parts := make([]string, numFaultKinds)
	for k := range numFaultKinds {
		parts[k] = fmt.Sprintf("%s %d", k, c[k])
	}
	return strings.Join(parts, ", ")
}

// write prints the report.
func (r *report) write(w io.Writer) {
	a, t, ob, mem, o := r.acct, r.agents, r.outbox, r.mem, r.opts
	line := func(key, format string, args ...any) {
		fmt.Fprintf(w, "  %-22s %s\n", key, fmt.Sprintf(format, args...))
	}
	fmt.Fprintln(w, "sioagent agent soak report")
	line("command", "%s", r.command)
	interrupted := ""
	if r.interrupted {
		interrupted = " (interrupted)"
	}
	line("duration", "%v of %v%s, then %v to drain; %v in all",
		r.soaked.Round(100*time.Millisecond), o.duration, interrupted, r.drainTime.Round(100*time.Millisecond), r.elapsed.Round(100*time.Millisecond))
	line("setup", "server pingInterval %v, pingTimeout %v; agent %q: sim sensors every %v/%v/%v, batches of ≤%d readings or %v, ack timeout %v, reconnect %v..%v, shutdown %v",
		serverPingInterval, serverPingTimeout, deviceID, sensorIntervals[0], sensorIntervals[1], sensorIntervals[2],
		batchMaxRecords, batchMaxDelay, ackTimeout, reconnectDelay, reconnectDelayMax, shutdownTimeout)
	line("faults injected", "%d (%s)", r.faults.total(), r.faults)
	line("agent runs", "%d (%s in process); slowest stop %v, %s slower than shutdown_timeout + %v",
		t.Runs, plural(max(t.Runs-1, 0), "restart"), t.SlowestStop.Round(time.Millisecond), plural(t.SlowStops, "stop"), stopGrace)
	line("connections", "%d connects (%d after the first of each agent run), %d recovered", t.Connects, max(t.Connects-t.Runs, 0), t.Recoveries)
	line("batches produced", "%d (outbox seqs 1..%d); the batcher stored %d batches of %d readings, %d readings lost",
		a.Produced, a.Produced, t.Batches, t.Readings, t.LostReads)
	line("batches stored", "%d distinct seqs over %d server lives (%d readings)", a.Stored, a.Lives, a.Records)
	line("missing", "%d%s", a.MissingCount, listed(a.Missing))
	line("gaps", "%d ranges of missing seqs; %d breaks in arrival order within a server life", len(a.Missing), a.OrderBreaks)
	line("duplicates", "%d acked as duplicates by the server (the agent counted %d); %d stored again by a later server life",
		a.ServerDuplicates, t.Duplicates, a.CrossLife)
	line("delivery", "%d sent, %d acked, %d ack timeouts, %d rejected", t.Sent, t.Acked, t.Timeouts, t.Rejected)
	drained := fmt.Sprintf("drained in %v", r.drainTime.Round(100*time.Millisecond))
	if !r.drained {
		drained = fmt.Sprintf("NOT drained within %v", drainTimeout)
	}
	line("outbox at the end", "%d left, %d dropped, %d dead letters, %d quarantined (%s)", ob.Left, ob.Dropped, ob.DeadLetters, ob.Quarantined, drained)
	line("peak heap", "%s HeapInuse (first sample %s, last %s, peak at %v; %d samples)",
		soakutil.MiB(mem.PeakHeap), soakutil.MiB(mem.FirstHeap), soakutil.MiB(mem.LastHeap), mem.PeakHeapAt.Round(time.Second), mem.Samples)
	if mem.RSSUnavailableBy != nil {
		line("peak RSS", "unknown (%v)", mem.RSSUnavailableBy)
	} else {
		line("peak RSS", "%s VmHWM (VmRSS at the end %s; this process: agent, proxy and harness, not node)", soakutil.MiB(mem.PeakRSS), soakutil.MiB(mem.EndRSS))
	}
	line("goroutines", "%d at start, %d before the agent, peak %d, %d after the agent stopped, %d at the end",
		r.gStart, r.gBeforeAgent, mem.PeakGoroutines, r.gAfterAgent, r.gEnd)
	if f := r.failures(); len(f) > 0 {
		line("result", "FAIL")
		for _, s := range f {
			fmt.Fprintf(w, "    - %s\n", s)
		}
		return
	}
	line("result", "PASS")
}

// listed shows missing ranges after their count, if any.
func listed(rs []seqRange) string {
	if len(rs) == 0 {
		return ""
	}
	return ": seqs " + rangesString(rs)
}

// plural formats a count and a noun, adding an "s" unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
