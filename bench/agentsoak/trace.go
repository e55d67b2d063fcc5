package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// tracer timestamps what happens (faults, agent runs, server log lines)
// relative to the start of the soak and, when verbose, prints it to w.
type tracer struct {
	start   time.Time
	verbose bool

	mu sync.Mutex // serialises the lines
	w  io.Writer
}

func newTracer(start time.Time, w io.Writer, verbose bool) *tracer {
	return &tracer{start: start, verbose: verbose, w: w}
}

// printf prints one line when verbose. It is safe for concurrent use.
func (t *tracer) printf(format string, args ...any) {
	if !t.verbose {
		return
	}
	line := fmt.Sprintf("%9.3fs  %s", time.Since(t.start).Seconds(), fmt.Sprintf(format, args...))
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintln(t.w, line)
}
