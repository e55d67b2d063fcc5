package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/sioagent/sioagent/bench/internal/soakutil"
)

// report is everything the soak prints at the end.
type report struct {
	command     string
	cfg         config
	elapsed     time.Duration
	interrupted bool
	runErr      error // why the soak stopped early, if it did
	st          stats
	mem         soakutil.Figures

	// Goroutine counts: at start, with the server and proxy running but
	// no client yet, after the client's Close, and at the end (server and
	// proxy stopped).
	gStart, gBeforeClient, gAfterClose, gEnd int
}

// failures lists why the soak failed; none means it passed.
func (r *report) failures() []string {
	var f []string
	add := func(cond bool, format string, args ...any) {
		if cond {
			f = append(f, fmt.Sprintf(format, args...))
		}
	}
	st := r.st
	add(r.runErr != nil, "stopped early: %v", r.runErr)
	add(st.Lost > 0, "%d events lost within recovered connections", st.Lost)
	add(st.Duplicates > 0, "%d duplicate events", st.Duplicates)
	add(st.OutOfOrder > 0, "%d events out of order", st.OutOfOrder)
	add(st.Strays > 0, "%d events from a stream that was not requested on the connection", st.Strays)
	add(st.Stalls > 0, "%d stream stalls while connected", st.Stalls)
	add(st.ConnectErrors > 0, "%d connect errors", st.ConnectErrors)
	add(st.ReconnectFailed > 0, "the client gave up reconnecting %d times", st.ReconnectFailed)
	add(r.gAfterClose > r.gBeforeClient, "goroutines leaked by the client: %d before it, %d after Close", r.gBeforeClient, r.gAfterClose)
	add(r.gEnd > r.gStart, "goroutines leaked: %d at start, %d at the end", r.gStart, r.gEnd)
	return f
}

// progressLine is the one-line summary printed every progressEvery.
func progressLine(elapsed, planned time.Duration, st stats, mem soakutil.Figures) string {
	return fmt.Sprintf("soak %v/%v: faults %s | disc %d reconn %d recovered %d/%d | events %d lost %d dup %d | heap %s peak %s | goroutines %d",
		elapsed.Round(time.Second), planned, faultCounts(st), st.Disconnections, st.Reconnections,
		st.Recovered, st.Recoverable, st.Received, st.Lost, st.Duplicates+st.OutOfOrder,
		soakutil.MiB(mem.LastHeap), soakutil.MiB(mem.PeakHeap), mem.PeakGoroutines)
}

func faultCounts(st stats) string {
	parts := make([]string, numFaultKinds)
	for k := range numFaultKinds {
		parts[k] = fmt.Sprintf("%s %d", k, st.Faults[k])
	}
	return strings.Join(parts, ", ")
}

func total(counts [numFaultKinds]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// write prints the report.
func (r *report) write(w io.Writer) {
	st, mem, cfg := r.st, r.mem, r.cfg
	line := func(key, format string, args ...any) {
		fmt.Fprintf(w, "  %-22s %s\n", key, fmt.Sprintf(format, args...))
	}
	fmt.Fprintln(w, "sioagent soak report")
	line("command", "%s", r.command)
	status := ""
	if r.interrupted {
		status = " (interrupted)"
	}
	line("duration", "%v of %v%s", r.elapsed.Round(100*time.Millisecond), cfg.duration, status)
	line("transport", "%s; server pingInterval %v, pingTimeout %v, recovery on", strings.Join(cfg.transports, ","), serverPingInterval, serverPingTimeout)
	line("faults injected", "%d (%s); %d while the client was not connected",
		total(st.Faults), faultCounts(st), st.FaultsWhileDown)
	line("disconnections", "%d (%s)", st.Disconnections, r.byCause(func(c causeStats) int { return c.Disconnections }))
	open := ""
	if !st.ConnectedAtEnd {
		open = "; disconnected at the end (the last outage is not counted)"
	}
	line("reconnections", "%d; %d attempts (%d failed to open), highest attempt number %d%s",
		st.Reconnections, st.Attempts, st.OpenFailures, st.MaxAttempt, open)
	line("reconnect time", "%s", durationStats(st.ReconnectTimes))
	line("recovered ratio", "%s (recovered / reconnections not after a server restart)", ratio(st.Recovered, st.Recoverable))
	line("  by cause", "%s", r.recoveredByCause())
	line("  not recovered", "%d after a server restart (expected), %d otherwise",
		st.Reconnections-st.Recovered-st.NotRecoveredOK, st.NotRecoveredOK)
	line("half-open detection", "%d of %d freezes detected, slowest after %v (bound: pingInterval + pingTimeout = %v)",
		st.FreezeDetected, st.FreezeDetected+st.FreezeUndetected, st.FreezeDetectMax.Round(time.Millisecond), serverPingInterval+serverPingTimeout)
	if slices.Contains(cfg.transports, "polling") && slices.Contains(cfg.transports, "websocket") {
		line("upgrades", "%d to websocket, %d failed probes", st.Upgrades, st.UpgradeFailures)
	}
	rate := float64(st.Received) / max(r.elapsed.Seconds(), 1e-9)
	line("events received", "%d in %d streams (%.1f/s; the server sends %.1f/s)", st.Received, st.Streams, rate, float64(time.Second)/float64(cfg.streamEvery))
	line("lost events", "%d (within a stream: only recovered reconnections in between)", st.Lost)
	line("duplicates", "%d (and %d out of order)", st.Duplicates, st.OutOfOrder)
	line("missed, not recovered", "≈%d (estimated: sent to an old socket or lost with the old server; expected)", st.Missed)
	line("stream requests", "%d (%d requested again after no number came; %d stray events; %d stalls)",
		st.StreamRequests, st.LostRequests, st.Strays, st.Stalls)
	line("peak heap", "%s HeapInuse (first sample %s, last %s, peak at %v; %d samples)",
		soakutil.MiB(mem.PeakHeap), soakutil.MiB(mem.FirstHeap), soakutil.MiB(mem.LastHeap), mem.PeakHeapAt.Round(time.Second), mem.Samples)
	if mem.RSSUnavailableBy != nil {
		line("peak RSS", "unknown: %v", mem.RSSUnavailableBy)
	} else {
		line("peak RSS", "%s VmHWM (VmRSS at the end %s; this process: client, proxy and harness, not node)", soakutil.MiB(mem.PeakRSS), soakutil.MiB(mem.EndRSS))
	}
	line("goroutines", "%d at start, %d before the client, peak %d, %d after client Close, %d at the end",
		r.gStart, r.gBeforeClient, mem.PeakGoroutines, r.gAfterClose, r.gEnd)
	if st.NotesTotal > 0 {
		line("notes", "%d (first %d below; printed with their trace on stderr when they happened)", st.NotesTotal, len(st.Notes))
		for _, n := range st.Notes {
			fmt.Fprintf(w, "      %s\n", n)
		}
	}
	if f := r.failures(); len(f) > 0 {
		line("result", "FAIL")
		for _, reason := range f {
			fmt.Fprintf(w, "      %s\n", reason)
		}
	} else {
		line("result", "PASS")
	}
}

// causes lists the outage causes in a fixed order.
func causes() []string {
	c := make([]string, 0, numFaultKinds+1)
	for k := range numFaultKinds {
		c = append(c, k.String())
	}
	return append(c, unprovoked)
}

func (r *report) byCause(get func(causeStats) int) string {
	var parts []string
	for _, c := range causes() {
		if n := get(r.st.ByCause[c]); n > 0 || c != unprovoked {
			parts = append(parts, fmt.Sprintf("%s %d", c, n))
		}
	}
	return strings.Join(parts, ", ")
}

func (r *report) recoveredByCause() string {
	var parts []string
	for _, c := range causes() {
		cs, ok := r.st.ByCause[c]
		if !ok {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d/%d (max %v)", c, cs.Recovered, cs.Recoverable, cs.MaxReconnect.Round(time.Millisecond)))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// ratio formats n/d as a fraction and a percentage.
func ratio(n, d int) string {
	if d == 0 {
		return "0/0"
	}
	return fmt.Sprintf("%d/%d = %.1f%%", n, d, 100*float64(n)/float64(d))
}

// durationStats summarizes sorted durations: max, median, p95.
func durationStats(sorted []time.Duration) string {
	if len(sorted) == 0 {
		return "-"
	}
	pct := func(p float64) time.Duration {
		return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
	}
	return fmt.Sprintf("max %v, median %v, p95 %v (from disconnected to connected)",
		sorted[len(sorted)-1].Round(time.Millisecond), pct(0.5).Round(time.Millisecond), pct(0.95).Round(time.Millisecond))
}
