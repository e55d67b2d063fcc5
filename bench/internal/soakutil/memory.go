// Package soakutil holds what the soak commands (bench/soak and
// bench/agentsoak) share: a sampler of the process's memory and goroutines
// (peak heap in use, peak goroutines, peak and final RSS, a wait for the
// goroutine count to come back to a baseline) and a timer that may be
// disabled.
package soakutil

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sampling periods and limits.
const (
	// SampleEvery is the memory sampling period.
	SampleEvery = time.Second
	// GoroutineSettle is how long the goroutine count may take to come
	// back to its baseline after a Close.
	GoroutineSettle = 5 * time.Second
	// goroutinePoll is the pause between two looks at the goroutine count.
	goroutinePoll = 20 * time.Millisecond
)

// Sampler records the peak of runtime.MemStats.HeapInuse, sampled
// every SampleEvery, and the first and last samples to show a trend.
type Sampler struct {
	mu         sync.Mutex
	samples    int
	first      uint64
	last       uint64
	peak       uint64
	peakAt     time.Duration
	goroutines int // peak runtime.NumGoroutine
}

// Run samples until ctx ends (once at the start and once at the end too).
func (m *Sampler) Run(ctx context.Context, start time.Time) {
	t := time.NewTicker(SampleEvery)
	defer t.Stop()
	m.sample(start)
	for {
		select {
		case <-ctx.Done():
			m.sample(start)
			return
		case <-t.C:
			m.sample(start)
		}
	}
}

func (m *Sampler) sample(start time.Time) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	g := runtime.NumGoroutine()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.samples == 0 {
		m.first = ms.HeapInuse
	}
	m.samples++
	m.last = ms.HeapInuse
	if ms.HeapInuse > m.peak {
		m.peak, m.peakAt = ms.HeapInuse, time.Since(start)
	}
	m.goroutines = max(m.goroutines, g)
}

// Figures are the sampler's results.
type Figures struct {
	Samples          int
	FirstHeap        uint64
	LastHeap         uint64
	PeakHeap         uint64
	PeakHeapAt       time.Duration
	PeakGoroutines   int
	PeakRSS, EndRSS  uint64 // VmHWM and VmRSS of this process; 0 if unknown
	RSSUnavailableBy error
}

// Figures returns the results so far, with this process's RSS read now.
func (m *Sampler) Figures() Figures {
	m.mu.Lock()
	f := Figures{
		Samples: m.samples, FirstHeap: m.first, LastHeap: m.last,
		PeakHeap: m.peak, PeakHeapAt: m.peakAt, PeakGoroutines: m.goroutines,
	}
	m.mu.Unlock()
	f.PeakRSS, f.EndRSS, f.RSSUnavailableBy = readRSS()
	return f
}

// readRSS returns VmHWM (the peak resident set size) and VmRSS of this
// process from /proc/self/status (Linux only).
func readRSS() (peak, now uint64, err error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmHWM" && key != "VmRSS") {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/self/status %s: %w", key, err)
		}
		if key == "VmHWM" {
			peak = kb << 10
		} else {
			now = kb << 10
		}
	}
	if peak == 0 {
		return 0, 0, fmt.Errorf("/proc/self/status: no VmHWM")
	}
	return peak, now, sc.Err()
}

// SettleGoroutines waits up to GoroutineSettle for the goroutine count to
// come down to want, and returns the last count.
func SettleGoroutines(want int) int {
	deadline := time.Now().Add(GoroutineSettle)
	for {
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(goroutinePoll)
	}
}

// MiB formats a byte count in MiB.
func MiB(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
