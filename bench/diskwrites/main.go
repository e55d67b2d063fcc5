//go:build linux

// Command diskwrites measures the flash wear of the agent: the bytes
// written to the block device per reading, with the default telemetry and
// outbox configuration, for a run of N readings delivered to the reference
// Node server (each batch committed, sent, acked and deleted, as in
// service). It runs the agent package in this process, so /proc/self/io
// counts the agent's writes and nothing else (the server is another
// process); it also reports the device's own counter (bench/internal/diskio
// explains both). Run it from the repository root on a quiet machine:
//
//	go run ./bench/diskwrites -readings 600
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/sioagent/sioagent/agent"
	"github.com/sioagent/sioagent/bench/internal/diskio"
	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/sensors/drivers"
)

// Limits of one run.
const (
	// pollEvery is how often the run checks the agent's counters.
	pollEvery = 100 * time.Millisecond
	// slack is added to the expected duration before the run gives up.
	slack = time.Minute
	// offlineURL is a server address nothing listens on.
	offlineURL = "http://127.0.0.1:1"
)

func main() {
	readings := flag.Int("readings", 240, "readings to store and deliver")
	nSensors := flag.Int("sensors", 4, "simulated sensors, one reading each per interval")
	interval := flag.Duration("interval", time.Second, "sampling interval of every sensor")
	dir := flag.String("dir", "", "directory of the outbox file (default: a new temporary directory)")
	offline := flag.Bool("offline", false, "no server: batches are only committed, never acked and deleted")
	flag.Parse()
	if err := run(os.Stdout, *readings, *nSensors, *interval, *dir, *offline); err != nil {
		fmt.Fprintln(os.Stderr, "diskwrites:", err)
		os.Exit(1)
	}
}

// Result is one measurement.
type Result struct {
	Readings, Batches uint64
	Writes            diskio.Sample
	FSType            string
	Took              time.Duration
}

// Measure runs the agent with nSensors simulated sensors sampled every
// interval, with every other setting at its default, until it has stored
// (and, with serverURL, delivered) at least n readings, and returns the
// writes of this process and of the outbox's device over the run.
func Measure(ctx context.Context, dir, serverURL string, n, nSensors int, interval time.Duration) (Result, error) {
	var toml strings.Builder
	online := serverURL != ""
	if !online {
		serverURL = offlineURL
	}
	fmt.Fprintf(&toml, "[device]\nid = \"diskwrites\"\n[server]\nurl = %q\n[outbox]\npath = %q\n[agent]\nruntime_dir = %q\n",
		serverURL, filepath.Join(dir, "outbox.db"), filepath.Join(dir, "run"))
	for i := range nSensors {
		fmt.Fprintf(&toml, "[[sensors]]\nname = \"s%d\"\ndriver = \"sim\"\nsignal = \"sine\"\ninterval = %q\n", i, interval.String())
	}
	cfg, err := config.Parse("diskwrites.toml", []byte(toml.String()), func(string) string { return "" }, drivers.New())
	if err != nil {
		return Result{}, err
	}
	a, err := agent.New(agent.Options{Config: cfg, Logger: slog.New(slog.DiscardHandler), Notify: func(string) error { return nil }})
	if err != nil {
		return Result{}, err
	}
	fstype, err := diskio.FSType(dir)
	if err != nil {
		a.Close()
		return Result{}, err
	}
	before, err := diskio.Take(0, dir)
	if err != nil {
		a.Close()
		return Result{}, err
	}
	start := time.Now()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	deadline := time.After(time.Duration(n/max(nSensors, 1)+1)*interval + slack)
	for {
		s := a.Status()
		if s.Batches.Readings >= uint64(n) && (!online || s.Outbox.Depth == 0) {
			break
		}
		select {
		case err := <-done:
			return Result{}, fmt.Errorf("agent stopped early: %v", err)
		case <-deadline:
			stop()
			<-done
			return Result{}, fmt.Errorf("timed out: %+v", s.Batches)
		case <-time.After(pollEvery):
		}
	}
	stop()
	if err := <-done; err != nil {
		return Result{}, err
	}
	after, err := diskio.Take(0, dir)
	if err != nil {
		return Result{}, err
	}
	s := a.Status()
	if s.Batches.Lost > 0 {
		return Result{}, errors.New("readings were lost")
	}
	return Result{Readings: s.Batches.Readings, Batches: s.Batches.Batches, Writes: after.Sub(before), FSType: fstype, Took: time.Since(start)}, nil
}

func run(w io.Writer, n, nSensors int, interval time.Duration, dir string, offline bool) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "diskwrites-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	url := ""
	if !offline {
		srv, err := nodeserver.Launch(nodeserver.Options{}, nil)
		if err != nil {
			return err
		}
		defer srv.Stop()
		url = srv.URL()
	}
	r, err := Measure(context.Background(), dir, url, n, nSensors, interval)
	if err != nil {
		return err
	}
	mode := "online (acked and deleted)"
	if offline {
		mode = "offline (committed only)"
	}
	per := func(b uint64) float64 { return float64(b) / float64(r.Readings) }
	fmt.Fprintf(w, "diskwrites: %d readings in %d batches, %d sensors every %s, %s, %s\n", r.Readings, r.Batches, nSensors, interval, mode, r.Took.Round(time.Second))
	fmt.Fprintf(w, "outbox dir %s: %s on %s; %s/%s, %d CPUs\n", dir, r.FSType, r.Writes.Device, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	fmt.Fprintf(w, "process write_bytes: %d (%.0f per reading, %.0f per batch); cancelled %d; %d write calls, %d bytes\n",
		r.Writes.Proc.WriteBytes, per(r.Writes.Proc.WriteBytes), float64(r.Writes.Proc.WriteBytes)/float64(r.Batches),
		r.Writes.Proc.CancelledWriteBytes, r.Writes.Proc.SyscW, r.Writes.Proc.WChar)
	fmt.Fprintf(w, "device %s sectors written: %d bytes (%.0f per reading; includes journal, metadata and every other process)\n",
		r.Writes.Device, r.Writes.DeviceBytes, per(r.Writes.DeviceBytes))
	return nil
}
