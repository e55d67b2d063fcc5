// Package agent wires sioagent together: sensors feed batches of readings
// into the durable outbox, the outbox drains to a Socket.IO server, the
// server's commands are answered through acks, and systemd hears how it
// goes. It holds no protocol or storage logic of its own: that lives in
// protocol/, store, outbox and sensors.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/protocol/engineio"
	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/sensors/clock"
	"github.com/sioagent/sioagent/store"
	"github.com/sioagent/sioagent/telemetry"
)

// Named durations of the agent's own loops.
const (
	// progressTick is how often idle loops record that they are alive.
	progressTick = time.Second
	// statusEvery is how often STATUS= is refreshed for systemd.
	statusEvery = 5 * time.Second
	// maxTokenBytes bounds the token file.
	maxTokenBytes = 64 << 10
)

// Options configure an Agent. Config is required.
type Options struct {
	// Config is the loaded configuration (config.Load).
	Config *config.Config
	// Hardware opens I2C buses and GPIO pins; nil means no hardware, so
	// only the sim and ds18b20 drivers work (others report "missing").
	Hardware Hardware
	// Clock stamps readings; the system clock (sensors/clock) when nil.
	Clock sensors.Clock
	// Logger receives the agent's log; slog.Default() when nil.
	Logger *slog.Logger
	// Version is reported in the auth payload ("sioagent/<version>") and
	// by agent:status.
	Version string
	// Notify sends a systemd notification (sd_notify); the
	// go-systemd implementation, which does nothing without
	// $NOTIFY_SOCKET, when nil.
	Notify func(state string) error
	// WatchdogInterval is how often WATCHDOG=1 is sent while the agent is
	// healthy; from $WATCHDOG_USEC/2 when zero.
	WatchdogInterval time.Duration
	// RemoteConfig answers config:get, config:apply and config:confirm
	// (package remoteconfig); nil answers them not_allowed.
	RemoteConfig RemoteConfig
}

// Agent is a running device agent. Create it with New, then call Run.
type Agent struct {
	opts    Options
	cfg     *config.Config
	log     *slog.Logger
	clock   sensors.Clock
	codec   *telemetry.Codec
	st      *store.Store
	client  *socketio.Client
	sock    *socketio.Socket
	drainer *outbox.Drainer
	batch   *batcher
	disp    *dispatcher
	conn    connState
	started time.Time
	token   tokenSource
	metrics *agentMetrics
	// metricsLn is the metrics endpoint's listener; nil when [metrics]
	// listen is not set.
	metricsLn net.Listener

	stop     context.CancelFunc // ends runCtx, the context of commands
	runCtx   context.Context
	reloadCh chan reloadReq
	reloadMu sync.Mutex // makes Reload's drain-then-send atomic

	restart     chan struct{} // closed by Restart
	restartOnce sync.Once
	connected   chan struct{} // a signal from OnConnect to the main loop (cap 1)

	closeOnce sync.Once
	closeErr  error

	mu        sync.Mutex
	running   bool            // Run was called
	closed    bool            // Close was called before Run
	sampled   *samplerRun     // the running sensors; replaced on reload
	sensorCfg []config.Sensor // their configs
}

// New opens the outbox and prepares the connection; nothing is sent and no
// sensor is read before Run. Errors name what failed (the token file, the
// outbox file, the server URL).
func New(opts Options) (*Agent, error) {
	cfg := opts.Config
	if cfg == nil {
		return nil, errors.New("agent: no config")
	}
	a := &Agent{opts: opts, cfg: cfg, sensorCfg: cfg.Sensors, log: opts.Logger, clock: opts.Clock, started: time.Now(),
		reloadCh: make(chan reloadReq, 1), restart: make(chan struct{}), connected: make(chan struct{}, 1), metrics: newAgentMetrics()}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.clock == nil {
		c, err := clock.New(clock.Options{TrustSystem: cfg.Clock.Trust == config.ClockTrustSystem})
		if err != nil {
			return nil, fmt.Errorf("agent: clock: %w", err)
		}
		a.clock = c
	}
	a.token = tokenSource{path: cfg.Server.TokenFile, log: a.log}
	if err := a.token.load(); err != nil {
		return nil, &ConfigError{Key: "server.token_file", Err: err}
	}
	var err error
	if a.codec, err = telemetry.New(cfg.Device.ID); err != nil {
		return nil, &ConfigError{Key: "device.id", Err: err}
	}
	if err := a.dial(); err != nil {
		return nil, err
	}
	sto := storeOptions(cfg, a.log)
	sto.OnCommit = func(d time.Duration) { a.metrics.commit.ObserveDuration(d) }
	if a.st, err = store.Open(cfg.Outbox.Path, sto); err != nil {
		a.client.Close()
		return nil, fmt.Errorf("agent: outbox %s: %w", cfg.Outbox.Path, err)
	}
	window := cfg.Outbox.Window
	if window == config.WindowAuto {
		window = outbox.WindowAuto
	}
	a.drainer, err = outbox.NewDrainer(a.st, a.sock, &outbox.Options{
		DeviceID: cfg.Device.ID, Event: cfg.Telemetry.Event, Window: window, DrainRate: cfg.Outbox.DrainRate,
		AckTimeout: cfg.Server.AckTimeout, Logger: a.log.With("part", "outbox"),
		Prepare: a.codec.Prepare(a.clock),
		OnAck:   func(d time.Duration) { a.metrics.ack.ObserveDuration(d) },
	})
	if err != nil {
		a.client.Close()
		a.st.Close()
		return nil, fmt.Errorf("agent: outbox: %w", err)
	}
	a.batch = newBatcher(a.codec, a.st, cfg.Telemetry.BatchMaxRecords, cfg.Telemetry.BatchMaxDelay, a.drainer.Wake, a.log.With("part", "batch"))
	a.batch.maxBytes = cfg.Telemetry.BatchMaxBytes
	a.batch.overflow = storeOptions(cfg, a.log).Overflow
	a.runCtx, a.stop = context.WithCancel(context.Background())
	a.disp = newDispatcher(a.runCtx, cfg.Commands.Timeout, cfg.Commands.RememberIDs, a.log.With("part", "commands"))
	a.disp.onAnswer = a.metrics.onAnswer
	a.registerBuiltins()
	a.sock.OnAny(a.disp.onEvent)
	a.registerMetrics()
	if err := a.listenMetrics(); err != nil {
		a.client.Close()
		a.st.Close()
		return nil, err
	}
	return a, nil
}

func storeOptions(cfg *config.Config, log *slog.Logger) *store.Options {
	o := &store.Options{MaxBytes: cfg.Outbox.MaxBytes, MaxRecords: cfg.Outbox.MaxRecords, MaxAge: cfg.Outbox.MaxAge, Logger: log.With("part", "store")}
	if cfg.Outbox.Overflow == "reject" {
		o.Overflow = store.Reject
	}
	return o
}

// dial creates the Socket.IO client and the namespace socket (without
// connecting).
func (a *Agent) dial() error {
	s := a.cfg.Server
	eng := engineio.Options{Transports: s.Transports, HandshakeTimeout: s.ConnectTimeout, Header: http.Header{}, Compression: s.Compression}
	for k, v := range s.Headers {
		eng.Header.Set(k, v)
	}
	tlsConf, err := tlsConfig(s, a.log.With("part", "tls"))
	if err != nil {
		return err
	}
	eng.TLSConfig = tlsConf
	client, err := socketio.New(s.URL, &socketio.Options{
		Engine: eng, ReconnectDelay: s.ReconnectDelay, ReconnectDelayMax: s.ReconnectDelayMax,
		OnStatus: a.onStatus, Logger: a.log.With("part", "socketio"),
	})
	if err != nil {
		return &ConfigError{Key: "server.url", Err: err}
	}
	a.client = client
	a.sock = client.Socket(s.Namespace, &socketio.SocketOptions{
		AuthFunc:   a.auth,
		SendBuffer: -1, // the outbox is the buffer; commands answer only while connected
		// A device agent is a service: it connects again after the server
		// disconnected or refused it, with backoff (onStatus logs it).
		Rejoin: true,
		OnConnect: func(recovered bool) {
			a.conn.connected(recovered, a.sock.ID(), client.Transport())
			a.log.Info("connected", "server", redactURL(s.URL), "namespace", s.Namespace, "recovered", recovered, "transport", client.Transport(), "compressed", client.Compressed())
			a.drainer.Wake()
			select { // the main loop reports a rollback
			case a.connected <- struct{}{}:
			default:
			}
		},
		OnDisconnect: func(reason error) {
			a.conn.disconnected(reason)
			a.metrics.disconnects.add(1, socketio.Reason(reason), "")
			a.log.Info("disconnected", "reason", socketio.Reason(reason))
		},
		OnConnectError: func(err *socketio.ConnectError) {
			a.conn.refused(err)
			a.log.Error("server refused the connection", "err", err)
		},
	})
	return nil
}

// onStatus is the client's OnStatus: it records why attempts fail and logs
// the rejoins after the server disconnected or refused the agent.
func (a *Agent) onStatus(s socketio.Status) {
	a.conn.onStatus(s)
	a.metrics.onStatus(s)
	if s.Kind == socketio.StatusRejoining {
		a.log.Info("connecting again after the server disconnected or refused us", "in", s.Delay.Round(time.Millisecond), "attempt", s.Attempt)
	}
}

// redactURL drops the query and userinfo of a URL for logs.
func redactURL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			u = u[:j+3] + u[i+1:]
		}
	}
	return u
}

// auth builds the CONNECT payload; it runs before every connection attempt,
// so a rotated token file is picked up without a restart.
func (a *Agent) auth(context.Context) (any, error) {
	m := map[string]string{"deviceId": a.cfg.Device.ID, "agent": "sioagent/" + a.version()}
	if tok := a.token.get(); tok != "" {
		m["token"] = tok
	}
	return m, nil
}

func (a *Agent) version() string {
	if a.opts.Version == "" {
		return "dev"
	}
	return a.opts.Version
}

// Handle registers a command: an event the server emits with an ack, named
// name. Register before Run; it replaces a built-in of the same name.
func (a *Agent) Handle(name string, fn CommandFunc) { a.disp.handle(name, fn) }

// Reload replaces the sensors and their sampling with those of cfg without
// dropping the connection. Other sections of cfg are ignored until a
// restart. It is safe to call from any goroutine while Run runs.
func (a *Agent) Reload(cfg *config.Config) { a.queueReload(reloadReq{cfg: cfg}) }

// ConfigError is an error of New caused by a setting (an unreadable token
// file, a bad CA file): restarting will not help until the setting is
// fixed.
type ConfigError struct {
	// Key is the config key, like "server.token_file".
	Key string
	// Err says what is wrong.
	Err error
}

// Error implements error.
func (e *ConfigError) Error() string { return "agent: " + e.Key + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

// tokenSource reads the token file, keeping the last good token if a later
// read fails.
type tokenSource struct {
	path string
	log  *slog.Logger
	mu   sync.Mutex
	tok  string
}

func (t *tokenSource) load() error {
	if t.path == "" {
		return nil
	}
	tok, err := readToken(t.path)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.tok = tok
	t.mu.Unlock()
	return nil
}

func (t *tokenSource) get() string {
	if err := t.load(); err != nil {
		t.log.Warn("token file unreadable, using the last token read", "err", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tok
}

func readToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, maxTokenBytes+1))
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if len(buf) > maxTokenBytes {
		return "", fmt.Errorf("%s: larger than %d bytes", path, maxTokenBytes)
	}
	tok := strings.TrimSpace(string(buf))
	if tok == "" {
		return "", fmt.Errorf("%s: empty", path)
	}
	return tok, nil
}
