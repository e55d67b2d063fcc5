package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// traceKeep is how many recent trace lines are kept, to be printed as
// evidence next to an anomaly.
const traceKeep = 80

// tracer timestamps what happens (faults, client statuses, server log
// lines) relative to the start of the soak. It keeps the last traceKeep
// lines and, when verbose, prints every line to w.
type tracer struct {
	start   time.Time
	verbose bool
	w       io.Writer

	mu   sync.Mutex
	ring []string
	next int // index of the oldest line once the ring is full
}

func newTracer(start time.Time, w io.Writer, verbose bool) *tracer {
	return &tracer{start: start, verbose: verbose, w: w, ring: make([]string, 0, traceKeep)}
}

// printf records one line.
func (t *tracer) printf(format string, args ...any) {
	line := fmt.Sprintf("%9.3fs  %s", time.Since(t.start).Seconds(), fmt.Sprintf(format, args...))
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.ring) < traceKeep {
		t.ring = append(t.ring, line)
	} else {
		t.ring[t.next] = line
		t.next = (t.next + 1) % traceKeep
	}
	if t.verbose {
		fmt.Fprintln(t.w, line)
	}
}

// recent returns the last n lines, oldest first, indented for a report.
func (t *tracer) recent(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := append(append([]string(nil), t.ring[t.next:]...), t.ring[:t.next]...)
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}

// elapsed returns the time since the start of the soak.
func (t *tracer) elapsed() time.Duration { return time.Since(t.start) }
