// Command agentsoak runs the whole device agent, in process, against the
// reference Node server through a fault-injecting proxy for a long time,
// and checks that every batch the agent produced was stored by the server.
//
//	go run ./bench/agentsoak -duration 10m
//
// It starts examples/server/server.js with a 1 s ping interval and
// timeout, puts a faultproxy in front of it, and runs an agent (agent.New
// and Run) with three simulated sensors sampled every 50, 100 and 200 ms,
// its outbox in a temporary directory and the proxy as its server.
// Meanwhile, at random intervals around -fault-every, the proxy resets
// every connection (cut), closes them cleanly (close), stops forwarding
// for 3 s (freeze, a half-open link) or plays a server that is down for
// 4 s (refuse); every -restart-every the server restarts (its memory is
// lost), and every -agent-restart-every the agent is stopped and created
// again on the same outbox.
//
// What the server stored is asked through a separate observer client (the
// example server's telemetry-stats) right before each server restart,
// with the agent's link frozen so that nothing reaches the old server
// after the count, and once more at the end; the counts of all the server
// lives are merged. At the end the faults stop, the agent drains its
// outbox and stops, and every seq the outbox ever gave out (1 to
// NextSeq-1) must be among the seqs the server stored.
//
// A one-line progress report goes to stderr every 30 s, the final report
// to stdout. The exit status is 1 if a produced seq is missing, a
// goroutine leaked, or the soak stopped early (a server restart or a
// stats query failed, the agent stopped by itself or would not stop); 2 on
// a usage or setup error. See bench/README.md.
//
// This is not a test and does not run in CI: it needs Node.js, the
// server's npm dependencies (`npm ci` in examples/server) and minutes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/sioagent/sioagent/bench/internal/soakutil"
	"github.com/sioagent/sioagent/internal/faultproxy"
	"github.com/sioagent/sioagent/internal/nodeserver"
)

// Settings of the soak that have no flag.
const (
	// serverPingInterval and serverPingTimeout are short, so a half-open
	// link is detected within 2 s.
	serverPingInterval = time.Second
	serverPingTimeout  = time.Second
	// progressEvery is the period of the progress line on stderr.
	progressEvery = 30 * time.Second
	// drainTimeout bounds the wait for the outbox to empty at the end.
	drainTimeout = time.Minute
	// drainPoll is the pause between two looks at the outbox depth.
	drainPoll = 100 * time.Millisecond
)

// Defaults of the flags.
const (
	defaultDuration          = 10 * time.Minute
	defaultFaultEvery        = 5 * time.Second
	defaultRestartEvery      = 60 * time.Second
	defaultAgentRestartEvery = 90 * time.Second
)

// Exit statuses.
const (
	exitPass  = 0
	exitFail  = 1
	exitUsage = 2
)

// options holds the command-line settings.
type options struct {
	duration          time.Duration
	faultEvery        time.Duration // 0: no link faults
	restartEvery      time.Duration // 0: no server restarts
	agentRestartEvery time.Duration // 0: no agent restarts
	seed              uint64
	verbose           bool
}

func main() {
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "agentsoak:", err)
		}
		os.Exit(exitUsage)
	}
	os.Exit(run(opts, os.Stdout, os.Stderr))
}

// parseFlags parses and checks the command line.
func parseFlags(args []string, errOut io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("agentsoak", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.DurationVar(&o.duration, "duration", defaultDuration, "how long to soak (then drain and check)")
	fs.Uint64Var(&o.seed, "seed", 0, "random seed of the fault schedule; 0 picks one (printed in the report)")
	fs.DurationVar(&o.faultEvery, "fault-every", defaultFaultEvery, "mean interval between link faults (cut, close, freeze or refuse; ±50% jitter); 0 disables them")
	fs.DurationVar(&o.restartEvery, "restart-every", defaultRestartEvery, "interval between server restarts; 0 disables them")
	fs.DurationVar(&o.agentRestartEvery, "agent-restart-every", defaultAgentRestartEvery, "interval between in-process agent restarts; 0 disables them")
	fs.BoolVar(&o.verbose, "v", false, "print every fault, the server's log and the agent's info log on stderr")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.duration <= 0:
		return o, errors.New("-duration must be positive")
	case o.faultEvery < 0 || o.restartEvery < 0 || o.agentRestartEvery < 0:
		return o, errors.New("-fault-every, -restart-every and -agent-restart-every must not be negative")
	}
	if o.seed == 0 {
		o.seed = rand.Uint64()
	}
	return o, nil
}

// command rebuilds the command line, with the seed actually used, so a
// run can be repeated.
func (o options) command() string {
	return strings.Join([]string{"go run ./bench/agentsoak",
		"-duration", o.duration.String(),
		"-fault-every", o.faultEvery.String(),
		"-restart-every", o.restartEvery.String(),
		"-agent-restart-every", o.agentRestartEvery.String(),
		"-seed", fmt.Sprint(o.seed),
	}, " ")
}

// run runs the soak, writes the report to out and returns the exit
// status. Progress and setup errors go to errOut.
func run(o options, out, errOut io.Writer) int {
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	start := time.Now()
	tr := newTracer(start, errOut, o.verbose)
	r := &report{command: o.command(), opts: o, gStart: runtime.NumGoroutine()}
	fmt.Fprintf(errOut, "agentsoak: %s\n", r.command)
	fail := func(err error) int {
		fmt.Fprintln(errOut, "agentsoak:", err)
		return exitUsage
	}

	dir, err := os.MkdirTemp("", "agentsoak-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	srv, err := nodeserver.Launch(nodeserver.Options{PingInterval: serverPingInterval, PingTimeout: serverPingTimeout}, tr.printf)
	if err != nil {
		return fail(err)
	}
	defer srv.Stop() // also stopped explicitly below; Stop is idempotent
	proxy, err := faultproxy.New(fmt.Sprintf("127.0.0.1:%d", srv.Port()))
	if err != nil {
		return fail(err)
	}
	defer proxy.Close()
	r.gBeforeAgent = runtime.NumGoroutine()

	cfg, err := agentConfig(dir, proxy.URL())
	if err != nil {
		return fail(err)
	}
	runner := &agentRunner{cfg: cfg, logger: agentLogger(errOut, o.verbose), tr: tr, slow: errOut, verbose: o.verbose}
	if err := runner.start(); err != nil {
		return fail(err)
	}
	defer runner.stop() // a no-op once stopped below

	var sampler soakutil.Sampler
	sampleCtx, stopSampling := context.WithCancel(context.Background())
	samplerDone := make(chan struct{})
	go func() { defer close(samplerDone); sampler.Run(sampleCtx, start) }()
	led := &ledger{url: srv.URL(), device: cfg.Device.ID}
	inj := &injector{
		proxy: proxy, server: srv, ledger: led, tr: tr,
		rng:        rand.New(rand.NewPCG(o.seed, o.seed^0x9e3779b97f4a7c15)),
		faultEvery: o.faultEvery, restartEvery: o.restartEvery,
	}
	faultCtx, stopFaults := context.WithCancel(ctx)
	injDone := make(chan error, 1)
	go func() { injDone <- inj.run(faultCtx) }()

	r.interrupted, r.runErr = drive(ctx, o, start, errOut, runner, inj, &sampler, injDone)
	stopSignals() // a second Ctrl-C kills the process
	r.soaked = time.Since(start)

	// Wind down: no more faults (the proxy is thawed and accepts), let the
	// agent drain and stop it, count what the server stored last, read the
	// outbox, then stop the proxy and the server.
	stopFaults()
	if err := <-injDone; err != nil && r.runErr == nil {
		r.runErr = err
	}
	r.drained, r.drainTime = runner.drain(drainTimeout)
	if err := runner.stop(); err != nil && r.runErr == nil {
		r.runErr = err
	}
	if err := led.count(context.Background()); err != nil && r.runErr == nil {
		r.runErr = fmt.Errorf("final count: %w", err)
	}
	r.outbox, err = readOutbox(cfg.Outbox.Path)
	if err != nil && r.runErr == nil {
		r.runErr = err
	}
	stopSampling()
	<-samplerDone
	r.elapsed = time.Since(start)
	r.mem = sampler.Figures()
	r.agents = runner.totals()
	r.faults = inj.counts()
	r.acct = analyse(led.lives(), r.outbox.produced())
	r.gAfterAgent = soakutil.SettleGoroutines(r.gBeforeAgent)
	proxy.Close()
	srv.Stop()
	r.gEnd = soakutil.SettleGoroutines(r.gStart)
	if r.gAfterAgent > r.gBeforeAgent || r.gEnd > r.gStart {
		fmt.Fprintln(errOut, "agentsoak: goroutines still running:")
		_ = pprof.Lookup("goroutine").WriteTo(errOut, 1)
	}

	r.write(out)
	if len(r.failures()) > 0 {
		return exitFail
	}
	return exitPass
}

// drive restarts the agent on schedule and prints progress until the
// duration has passed, the soak is interrupted, the injector fails or the
// agent stops by itself. It reports whether it was interrupted and why
// the soak stopped early, if it did.
func drive(ctx context.Context, o options, start time.Time, errOut io.Writer, runner *agentRunner, inj *injector, sampler *soakutil.Sampler, injDone <-chan error) (bool, error) {
	end := time.NewTimer(o.duration)
	defer end.Stop()
	progress := time.NewTicker(progressEvery)
	defer progress.Stop()
	restarts := soakutil.NewTimer(o.agentRestartEvery)
	defer restarts.Stop()
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case <-end.C:
			return false, nil
		case err := <-injDone:
			if err == nil {
				err = errors.New("the fault injector stopped")
			}
			return false, err
		case <-runner.exited():
			return false, fmt.Errorf("agent run %d stopped by itself: %v", runner.runs, runner.exitErr())
		case <-restarts.C():
			if err := runner.restart(); err != nil {
				return false, err
			}
			restarts.Reset(o.agentRestartEvery)
		case <-progress.C:
			fmt.Fprintln(errOut, progressLine(time.Since(start), o.duration, inj.counts(), runner.totals(), sampler.Figures()))
		}
	}
}

// agentLogger is the agents' logger: errors only, or info and above with
// -v, on w.
func agentLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelError
	if verbose {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
