// Command soak runs the Socket.IO client against the reference Node server
// through a fault-injecting proxy for a long time, and reports how it
// coped: reconnections, how many were recovered, lost and duplicate
// events, reconnect times, peak memory and goroutines.
//
//	go run ./bench/soak -duration 10m
//
// It starts examples/server/server.js with connection state recovery and a
// 1 s ping interval and timeout, puts a faultproxy in front of it, and
// connects one client to "/" through the proxy. The server streams
// numbered events to the client continuously ("seq" 0, 1, 2, ... every
// -stream-every ms). Meanwhile, at random intervals around -cut-every, the
// proxy resets every connection (cut), closes them cleanly (close), or
// stops forwarding for -freeze (a half-open link the heartbeat must
// detect); every -restart-every the server restarts.
//
// Within one stream, across recovered reconnections, every number must
// arrive exactly once and in order. A reconnection that is not recovered
// (after a restart, the server's state is gone) ends the stream and a new
// one is requested; what the old one sent meanwhile is estimated and
// reported as missed, not lost.
//
// A one-line progress report goes to stderr every 30 s, the final report
// to stdout. The exit status is 1 if an event was lost, duplicated or
// reordered, a goroutine leaked, or the client stalled or gave up; 2 on a
// usage or setup error. See bench/README.md.
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
	"github.com/sioagent/sioagent/protocol/engineio"
	"github.com/sioagent/sioagent/protocol/socketio"
)

// Server and client settings of the soak.
const (
	// serverPingInterval and serverPingTimeout are short, so a half-open
	// link is detected within 2 s.
	serverPingInterval = time.Second
	serverPingTimeout  = time.Second
	// reconnectDelay and reconnectDelayMax are the client's backoff bounds.
	reconnectDelay    = 200 * time.Millisecond
	reconnectDelayMax = 2 * time.Second
	// connectTimeout bounds the first connection.
	connectTimeout = 30 * time.Second
	// progressEvery is the period of the progress line on stderr.
	progressEvery = 30 * time.Second
	// maintainEvery is how often the driver checks the stream.
	maintainEvery = 250 * time.Millisecond
)

// Exit statuses.
const (
	exitPass  = 0
	exitFail  = 1
	exitUsage = 2
)

// config holds the command-line settings.
type config struct {
	duration     time.Duration
	transports   []string
	cutEvery     time.Duration
	restartEvery time.Duration
	streamEvery  time.Duration
	freezeFor    time.Duration
	seed         uint64
	verbose      bool
	debug        bool
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "soak:", err)
		}
		os.Exit(exitUsage)
	}
	os.Exit(run(cfg))
}

// parseFlags parses and checks the command line.
func parseFlags(args []string, errOut io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.DurationVar(&cfg.duration, "duration", 10*time.Minute, "how long to soak")
	transport := fs.String("transport", engineio.TransportWebSocket, "transports: websocket, polling or polling,websocket (upgrade)")
	fs.DurationVar(&cfg.cutEvery, "cut-every", 5*time.Second, "mean interval between link faults (cut, close or freeze; ±50% jitter); 0 disables them")
	fs.DurationVar(&cfg.restartEvery, "restart-every", 60*time.Second, "interval between server restarts; 0 disables them")
	streamEveryMs := fs.Int("stream-every", 20, "milliseconds between two server events")
	fs.DurationVar(&cfg.freezeFor, "freeze", 3*time.Second, "how long a freeze (half-open link) lasts")
	fs.Uint64Var(&cfg.seed, "seed", 0, "random seed for the fault schedule; 0 picks one (printed in the report)")
	fs.BoolVar(&cfg.verbose, "v", false, "print every fault, client status and server log line on stderr")
	fs.BoolVar(&cfg.debug, "debug", false, "print the client's debug log on stderr")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if cfg.transports, err = parseTransports(*transport); err != nil {
		return cfg, err
	}
	switch {
	case cfg.duration <= 0:
		return cfg, errors.New("-duration must be positive")
	case *streamEveryMs <= 0:
		return cfg, errors.New("-stream-every must be at least 1 (ms)")
	case cfg.freezeFor <= 0:
		return cfg, errors.New("-freeze must be positive")
	}
	cfg.streamEvery = time.Duration(*streamEveryMs) * time.Millisecond
	if cfg.seed == 0 {
		cfg.seed = rand.Uint64()
	}
	return cfg, nil
}

// parseTransports accepts the transport lists of the CLI.
func parseTransports(s string) ([]string, error) {
	switch s {
	case "websocket", "polling", "polling,websocket":
		return strings.Split(s, ","), nil
	}
	return nil, fmt.Errorf("-transport %q: want websocket, polling or polling,websocket", s)
}

// command rebuilds the command line, with the seed actually used, so a
// run can be repeated.
func (cfg config) command() string {
	args := []string{"go run ./bench/soak",
		"-duration", cfg.duration.String(),
		"-transport", strings.Join(cfg.transports, ","),
		"-cut-every", cfg.cutEvery.String(),
		"-restart-every", cfg.restartEvery.String(),
		"-stream-every", fmt.Sprint(cfg.streamEvery.Milliseconds()),
		"-freeze", cfg.freezeFor.String(),
		"-seed", fmt.Sprint(cfg.seed),
	}
	return strings.Join(args, " ")
}

// run runs the soak and returns the exit status.
func run(cfg config) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	tr := newTracer(start, os.Stderr, cfg.verbose)
	r := &report{command: cfg.command(), cfg: cfg, gStart: runtime.NumGoroutine()}
	fmt.Fprintf(os.Stderr, "soak: %s\n", r.command)

	srv, err := nodeserver.Launch(nodeserver.Options{
		PingInterval: serverPingInterval,
		PingTimeout:  serverPingTimeout,
		Recovery:     true,
	}, tr.printf)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return exitUsage
	}
	defer srv.Stop() // also stopped explicitly below; Stop is idempotent
	proxy, err := faultproxy.New(fmt.Sprintf("127.0.0.1:%d", srv.Port()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return exitUsage
	}
	defer proxy.Close()
	r.gBeforeClient = runtime.NumGoroutine()

	mon := newMonitor(tr, os.Stderr, cfg.streamEvery)
	client, sock, err := connect(ctx, cfg, proxy.URL(), mon)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return exitUsage
	}
	defer client.Close()

	var sampler soakutil.Sampler
	bgCtx, stopBackground := context.WithCancel(ctx)
	samplerDone := make(chan struct{})
	go func() {
		defer close(samplerDone)
		sampler.Run(bgCtx, start)
	}()
	inj := &injector{
		proxy: proxy, server: srv, mon: mon,
		rng:      rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x9e3779b97f4a7c15)),
		cutEvery: cfg.cutEvery, restartEvery: cfg.restartEvery, freezeFor: cfg.freezeFor,
	}
	injDone := make(chan error, 1)
	go func() { injDone <- inj.run(bgCtx) }()

	r.interrupted, r.runErr = drive(ctx, cfg, start, mon, &sampler, sock, injDone)

	// Wind down: no more faults (the proxy is thawed), no more sampling,
	// then the client, then the proxy and the server.
	stopBackground()
	if r.runErr == nil {
		r.runErr = <-injDone
	}
	<-samplerDone
	r.elapsed = time.Since(start)
	r.st = mon.finish()
	r.mem = sampler.Figures()
	client.Close()
	r.gAfterClose = soakutil.SettleGoroutines(r.gBeforeClient)
	proxy.Close()
	srv.Stop()
	stop()
	r.gEnd = soakutil.SettleGoroutines(r.gStart)
	if r.gAfterClose > r.gBeforeClient || r.gEnd > r.gStart {
		fmt.Fprintln(os.Stderr, "soak: goroutines still running:")
		_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
	}

	r.write(os.Stdout)
	if len(r.failures()) > 0 {
		return exitFail
	}
	return exitPass
}

// connect creates the client and connects its socket to "/" through the
// proxy at url.
func connect(ctx context.Context, cfg config, url string, mon *monitor) (*socketio.Client, *socketio.Socket, error) {
	opts := &socketio.Options{
		Engine: engineio.Options{
			Transports: cfg.transports,
			OnUpgrade:  mon.onUpgrade,
		},
		ReconnectDelay:    reconnectDelay,
		ReconnectDelayMax: reconnectDelayMax,
		OnStatus:          mon.onStatus,
	}
	if cfg.debug {
		opts.Logger = debugLogger(os.Stderr)
	}
	client, err := socketio.New(url, opts)
	if err != nil {
		return nil, nil, err
	}
	// No send buffer: a stream request made while disconnected fails at
	// once instead of being sent later on a connection that may already
	// have its own stream.
	sock := client.Socket("/", &socketio.SocketOptions{SendBuffer: -1})
	sock.On("welcome", mon.onWelcome)
	sock.On("seq", mon.onSeq)
	sock.On("stream-done", mon.onStreamDone)
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := sock.Connect(cctx); err != nil {
		client.Close()
		return nil, nil, fmt.Errorf("first connection: %w", err)
	}
	return client, sock, nil
}

// drive keeps the stream running and prints progress until the duration
// has passed, the soak is interrupted, or the injector fails. It reports
// whether it was interrupted and the injector's error.
func drive(ctx context.Context, cfg config, start time.Time, mon *monitor, sampler *soakutil.Sampler, sock *socketio.Socket, injDone <-chan error) (bool, error) {
	everyMs := int(cfg.streamEvery.Milliseconds())
	emit := func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, emitTimeout)
		defer cancel()
		return sock.Emit(ctx, "stream", streamCount, everyMs)
	}
	end := time.NewTimer(cfg.duration)
	defer end.Stop()
	progress := time.NewTicker(progressEvery)
	defer progress.Stop()
	tick := time.NewTicker(maintainEvery)
	defer tick.Stop()
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
		case <-progress.C:
			fmt.Fprintln(os.Stderr, progressLine(time.Since(start), cfg.duration, mon.snapshot(), sampler.Figures()))
		case <-mon.requests:
			mon.maintainStream(ctx, sock.ID, emit)
		case <-tick.C:
			mon.maintainStream(ctx, sock.ID, emit)
		}
	}
}

// debugLogger logs the client's debug records to w.
func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
