//go:build linux

// Command linkfill measures how much of a slow, long link the outbox uses
// to drain a backlog, and how many bytes a reading takes on the wire with
// and without WebSocket compression.
//
// It stores a backlog of telemetry batches (a simulated greenhouse
// station, stored and prepared by package telemetry as the agent does:
// about 2,000-byte SenML packs), starts the reference Node server (with
// permessage-deflate offered), puts the fault proxy in front of it with a
// round trip (half each way) and a bandwidth limit per direction, and
// drains the backlog through it with each window: the drainer (package
// outbox) runs in this process, so every byte it sends crosses the
// proxy, which counts them. For each link and window it reports the drain
// time, the bytes that crossed the link towards the server, the share of
// the link they used (bytes / (bandwidth × drain time)), the most any
// window could use on that backlog (its bytes take bytes / bandwidth to
// cross, and the last ack needs a round trip more), and the share in the
// middle of the drain (from the ack of a quarter of the batches to that of
// three quarters: the steady state, once the window has grown). Then it
// drains the backlog on an unlimited link with compression off and on and
// reports bytes per reading. Run it from the repository root on a quiet
// machine:
//
//	go run ./bench/linkfill
//	go run ./bench/linkfill -batches 3000 -rates 10 -windows auto
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sioagent/sioagent/internal/faultproxy"
	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/protocol/engineio"
	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/store"
	"github.com/sioagent/sioagent/telemetry"
)

// Limits of one drain.
const (
	// pollEvery is how often a drain looks at the drainer's counters.
	pollEvery = 2 * time.Millisecond
	// connectTimeout bounds the connection before a drain.
	connectTimeout = 20 * time.Second
	// drainSlack is added to the slowest plausible drain before giving up.
	drainSlack = 2 * time.Minute
)

func main() {
	batches := flag.Int("batches", 300, "batches in the backlog")
	perBatch := flag.Int("readings", 64, "readings per batch (64 make SenML packs of about 2,000 bytes)")
	rtt := flag.Duration("rtt", 600*time.Millisecond, "round trip the proxy adds (half each way)")
	rates := flag.String("rates", "1,10", "link bandwidths in Mbit/s, comma separated")
	windows := flag.String("windows", "32,256,auto", "windows to measure: numbers or auto, comma separated")
	compression := flag.Bool("compression", true, "also measure bytes per reading with and without compression")
	flag.Parse()
	if err := run(os.Stdout, *batches, *perBatch, *rtt, *rates, *windows, *compression); err != nil {
		fmt.Fprintln(os.Stderr, "linkfill:", err)
		os.Exit(1)
	}
}

// drainSpec is one measurement.
type drainSpec struct {
	window      int   // outbox.Options.Window (outbox.WindowAuto: auto)
	bitsPerSec  int64 // the link, each way; 0 unlimited
	rtt         time.Duration
	batches     int
	perBatch    int
	compression bool
}

// result is what one drain measured.
type result struct {
	readings     int
	packBytes    float64 // mean SenML pack
	took         time.Duration
	up, down     int64   // bytes over the link during the drain, connection included
	steady       float64 // share of the link between 1/4 and 3/4 of the acks
	peakWindow   int
	minRTT       time.Duration
	timeouts     uint64
	resends      uint64
	compressed   bool
	cpu          time.Duration // of this process (drainer and proxy) during the drain
	allocPerSend float64       // bytes allocated per batch sent
}

func run(w io.Writer, batches, perBatch int, rtt time.Duration, rateList, windowList string, compression bool) error {
	var bw []int64
	for _, f := range strings.Split(rateList, ",") {
		mbit, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || mbit <= 0 {
			return fmt.Errorf("bad -rates %q", rateList)
		}
		bw = append(bw, int64(mbit*1e6))
	}
	var wins []int
	for _, f := range strings.Split(windowList, ",") {
		f = strings.TrimSpace(f)
		if f == "auto" {
			wins = append(wins, outbox.WindowAuto)
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return fmt.Errorf("bad -windows %q", windowList)
		}
		wins = append(wins, n)
	}
	srv, err := nodeserver.Launch(nodeserver.Options{PerMessageDeflate: true}, nil)
	if err != nil {
		return err
	}
	defer srv.Stop()
	ctx := context.Background()
	fmt.Fprintf(w, "linkfill: %d batches of %d readings, round trip %v, %s/%s, %d CPUs, %s\n",
		batches, perBatch, rtt, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(w, "%-10s %-7s %9s %10s %11s %9s %8s %7s %8s %9s %6s\n",
		"link", "window", "drain", "bytes up", "link share", "ceiling", "steady", "peak W", "min RTT", "timeouts", "resent")
	for _, rate := range bw {
		for _, win := range wins {
			r, err := drain(ctx, srv.URL(), drainSpec{window: win, bitsPerSec: rate, rtt: rtt, batches: batches, perBatch: perBatch})
			if err != nil {
				return fmt.Errorf("%s, window %s: %w", mbits(rate), windowName(win), err)
			}
			bytesPerSec := float64(rate) / 8
			wire := float64(r.up) / bytesPerSec
			share := wire / r.took.Seconds()
			ceiling := wire / (wire + rtt.Seconds())
			steady := "-" // the middle of the drain took no measurable time
			if r.steady > 0 {
				steady = fmt.Sprintf("%.1f%%", 100*r.steady)
			}
			fmt.Fprintf(w, "%-10s %-7s %9s %10d %10.1f%% %8.1f%% %8s %7d %8s %9d %6d\n",
				mbits(rate), windowName(win), r.took.Round(time.Millisecond), r.up, 100*share, 100*ceiling,
				steady, r.peakWindow, r.minRTT.Round(time.Millisecond), r.timeouts, r.resends)
		}
	}
	fmt.Fprintln(w, "link share: bytes up / (bandwidth × drain time); ceiling: the most any window reaches on this backlog, (bytes up / bandwidth) / (that + one round trip);")
	fmt.Fprintln(w, "steady: the share from the ack of 1/4 of the batches to that of 3/4; peak W: the largest window the drainer reported")
	if !compression {
		return nil
	}
	fmt.Fprintf(w, "\nbytes per reading, unlimited link, round trip %v, window auto (server offers permessage-deflate):\n", rtt)
	fmt.Fprintf(w, "%-12s %10s %12s %12s %11s %12s %14s\n", "compression", "negotiated", "bytes up", "per reading", "pack bytes", "CPU/batch", "alloc/batch")
	var plain float64
	for _, on := range []bool{false, true} {
		r, err := drain(ctx, srv.URL(), drainSpec{window: outbox.WindowAuto, rtt: rtt, batches: batches, perBatch: perBatch, compression: on})
		if err != nil {
			return fmt.Errorf("compression %v: %w", on, err)
		}
		per := float64(r.up) / float64(r.readings)
		note := ""
		if on && plain > 0 {
			note = fmt.Sprintf("  (%.1f%% of uncompressed)", 100*per/plain)
		} else {
			plain = per
		}
		fmt.Fprintf(w, "%-12v %10v %12d %12.1f %11.0f %12s %13.0fB%s\n", on, r.compressed, r.up, per, r.packBytes,
			(r.cpu / time.Duration(batches)).Round(time.Microsecond), r.allocPerSend, note)
	}
	return nil
}

func windowName(w int) string {
	if w == outbox.WindowAuto {
		return "auto"
	}
	return strconv.Itoa(w)
}

func mbits(bitsPerSec int64) string {
	if bitsPerSec == 0 {
		return "unlimited"
	}
	return strconv.FormatFloat(float64(bitsPerSec)/1e6, 'f', -1, 64) + "Mbit/s"
}

// drain stores a fresh backlog, drains it through a fresh proxy in front of
// serverURL and measures it.
func drain(ctx context.Context, serverURL string, spec drainSpec) (result, error) {
	dir, err := os.MkdirTemp("", "linkfill-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(filepath.Join(dir, "outbox.db"), nil)
	if err != nil {
		return result{}, err
	}
	defer st.Close()
	id := fmt.Sprintf("linkfill-%d-%d", time.Now().UnixNano(), spec.window)
	codec, err := telemetry.New(id)
	if err != nil {
		return result{}, err
	}
	var r result
	if r.readings, r.packBytes, err = backlog(ctx, st, codec, spec.batches, spec.perBatch); err != nil {
		return result{}, err
	}
	p, err := faultproxy.New(strings.TrimPrefix(serverURL, "http://"))
	if err != nil {
		return result{}, err
	}
	defer p.Close()
	p.SetLatency(spec.rtt / 2)
	p.SetBandwidth(int(spec.bitsPerSec / 8))

	client, err := socketio.New(p.URL(), &socketio.Options{Engine: engineio.Options{Compression: spec.compression}})
	if err != nil {
		return result{}, err
	}
	defer client.Close()
	var d *outbox.Drainer
	sock := client.Socket("/", &socketio.SocketOptions{SendBuffer: -1, OnConnect: func(bool) { d.Wake() }})
	d, err = outbox.NewDrainer(st, sock, &outbox.Options{DeviceID: id, Window: spec.window, Prepare: codec.Prepare(syncedClock(time.Now()))})
	if err != nil {
		return result{}, err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	up0, down0 := p.Forwarded()
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	err = sock.Connect(cctx)
	cancel()
	if err != nil {
		return result{}, err
	}
	r.compressed = client.Compressed()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := cpuTime()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	quarter, threeQuarters := uint64(spec.batches/4), uint64(3*spec.batches/4)
	var qAt, tqAt time.Time
	var qUp, tqUp int64
	deadline := time.After(drainSlack + time.Duration(spec.batches)*time.Second/10)
	for {
		s := d.Stats()
		r.peakWindow = max(r.peakWindow, s.Window)
		if s.Acked >= quarter && qAt.IsZero() {
			qAt, qUp = time.Now(), forwardedUp(p)
		}
		if s.Acked >= threeQuarters && tqAt.IsZero() {
			tqAt, tqUp = time.Now(), forwardedUp(p)
		}
		if s.Acked >= uint64(spec.batches) {
			r.took = time.Since(start)
			r.minRTT, r.timeouts, r.resends = s.MinRTT, s.Timeouts, s.Resends
			break
		}
		select {
		case err := <-done:
			return result{}, fmt.Errorf("the drainer stopped: %v", err)
		case <-deadline:
			return result{}, errors.New("the drain timed out")
		case <-time.After(pollEvery):
		}
	}
	r.cpu = cpuTime() - cpu0
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	s := d.Stats()
	r.allocPerSend = float64(m1.TotalAlloc-m0.TotalAlloc) / float64(max(s.Sent, 1))
	up1, down1 := p.Forwarded()
	r.up, r.down = up1-up0, down1-down0
	if spec.bitsPerSec > 0 && tqAt.After(qAt) {
		r.steady = float64(tqUp-qUp) / (float64(spec.bitsPerSec) / 8 * tqAt.Sub(qAt).Seconds())
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		return result{}, err
	}
	return r, nil
}

func forwardedUp(p *faultproxy.Proxy) int64 {
	up, _ := p.Forwarded()
	return up
}

// cpuTime is the user and system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
