// Package config loads and validates sioagent's TOML configuration file.
//
// The format is strict: an unknown key, a key that does not apply to a
// sensor's driver, a value of the wrong type or out of range fails the whole
// load with an *Error that names the file, the key (for example
// "server.url" or `sensors."greenhouse".interval`) and the reason,
// including what is allowed. The first error in document order is
// reported.
//
// A [[sensors]] table has common keys (name, driver, interval, timeout,
// enabled), parsed here, and its driver's keys, which the driver's own
// package decodes through a Table: config imports no driver. The Drivers
// passed to Load or Parse say which drivers exist.
//
// Durations are strings accepted by time.ParseDuration ("10s", "1m30s");
// sizes are strings such as "64MiB" (B, KB, KiB, MB, MiB, GB, GiB; KB is
// 1000 bytes, KiB 1024) or a plain integer of bytes. Every omitted key gets
// the default documented on its field; defaults that follow systemd's
// directories ($CREDENTIALS_DIRECTORY, $STATE_DIRECTORY,
// $RUNTIME_DIRECTORY) come from the environment given to Parse. Paths are
// kept as written: a relative path is relative to the working directory.
//
// configs/example.toml in the repository documents every key.
package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Defaults and limits of the [device] and [server] sections.
const (
	// MaxIDLen is the longest device id and sensor name.
	MaxIDLen = 64
	// DefaultNamespace is the Socket.IO namespace used when none is set.
	DefaultNamespace = "/"
	// CredentialsEnv names the environment variable systemd sets for
	// LoadCredential=; the token defaults to the file "token" in it.
	CredentialsEnv = "CREDENTIALS_DIRECTORY"
	// CredentialTokenName is the credential file name of the token.
	CredentialTokenName = "token"
	// TransportWebSocket and TransportPolling are the Engine.IO transports.
	TransportWebSocket = "websocket"
	// TransportPolling is HTTP long-polling.
	TransportPolling = "polling"
	// DefaultAckTimeout is how long an emit waits for the server's ack.
	DefaultAckTimeout = 10 * time.Second
	// DefaultConnectTimeout bounds one connection attempt.
	DefaultConnectTimeout = 20 * time.Second
	// DefaultReconnectDelay is the first delay between reconnection attempts.
	DefaultReconnectDelay = time.Second
	// DefaultReconnectDelayMax caps the reconnection backoff.
	DefaultReconnectDelayMax = 30 * time.Second
	// MaxTimeout is the longest ack, connect, command and shutdown timeout
	// and the longest reconnection delay accepted.
	MaxTimeout = time.Hour
	// MinTimeout is the shortest ack, connect and command timeout
	// accepted: below it every ack or command would time out.
	MinTimeout = 100 * time.Millisecond
	// DefaultCompression offers WebSocket compression: it is used only
	// when the server accepts it (Socket.IO servers leave it off unless
	// configured), and then halves the bytes of telemetry (docs/OUTBOX.md).
	DefaultCompression = true
)

// Defaults and limits of the [outbox] section.
const (
	// StateEnv names the environment variable systemd sets for
	// StateDirectory=.
	StateEnv = "STATE_DIRECTORY"
	// OutboxFileName is the database file name inside the state directory.
	OutboxFileName = "outbox.db"
	// DefaultOutboxPath is the database used when $STATE_DIRECTORY is unset.
	DefaultOutboxPath = "/var/lib/sioagent/outbox.db"
	// DefaultMaxBytes is the default outbox size bound (64 MiB).
	DefaultMaxBytes = 64 << 20
	// MinMaxBytes is the smallest accepted max_bytes (1 MiB).
	MinMaxBytes = 1 << 20
	// MaxMaxBytes is the largest accepted max_bytes (96 MiB): the largest
	// the store's file ceiling (256 MiB, well inside a 32-bit ARM address
	// space) holds in the worst case for page use, so that max_bytes, not
	// the file size, is what bounds the queue (store.MaxBoundedBytes; a
	// test in agent keeps the two equal).
	MaxMaxBytes = 96 << 20
	// MaxMaxRecords is the largest accepted max_records.
	MaxMaxRecords = 100_000_000
	// OverflowDropOldest drops the oldest records when the outbox is full.
	OverflowDropOldest = "drop-oldest"
	// OverflowReject refuses new records when the outbox is full.
	OverflowReject = "reject"
	// WindowAuto is window = "auto", the default: the outbox sizes the
	// window to the link (outbox.WindowAuto, docs/OUTBOX.md).
	WindowAuto = 0
	// DefaultWindow is the default window: auto.
	DefaultWindow = WindowAuto
	// MaxWindow is the largest fixed window accepted (window = 1 to
	// 256); auto has bounds of its own (outbox.AutoWindowMaxRecords and
	// AutoWindowMaxBytes).
	MaxWindow = 256
	// MinDrainRate is the smallest accepted drain_rate (1 KiB/s): below
	// it one batch of the default size takes minutes.
	MinDrainRate = 1 << 10
	// MaxDrainRate is the largest accepted drain_rate (1 GiB/s).
	MaxDrainRate = 1 << 30
)

// Defaults and limits of the [telemetry] and [commands] sections.
const (
	// DefaultBatchMaxRecords is the default number of readings per batch.
	DefaultBatchMaxRecords = 50
	// MaxBatchMaxRecords is the largest accepted batch_max_records.
	MaxBatchMaxRecords = 1000
	// DefaultBatchMaxDelay is how long a batch waits for more readings.
	DefaultBatchMaxDelay = time.Second
	// MaxBatchMaxDelay is the longest accepted batch_max_delay.
	MaxBatchMaxDelay = time.Hour
	// DefaultBatchMaxBytes is the default byte cap of one stored batch,
	// well under Socket.IO's default maxHttpBufferSize (1e6 bytes, the
	// handshake's maxPayload), which binary data on long-polling reaches
	// at 3/4 of its size.
	DefaultBatchMaxBytes = 256 << 10
	// MinBatchMaxBytes and MaxBatchMaxBytes bound batch_max_bytes.
	MinBatchMaxBytes = 1 << 10
	MaxBatchMaxBytes = 16 << 20
	// DefaultCommandTimeout is the per-command timeout.
	DefaultCommandTimeout = 10 * time.Second
	// DefaultRememberIDs is how many answered command ids are remembered.
	DefaultRememberIDs = 1024
	// MaxRememberIDs is the largest accepted remember_ids.
	MaxRememberIDs = 1_000_000
)

// Defaults of the [agent] section.
const (
	// DefaultShutdownTimeout is how long SIGTERM waits for the outbox to
	// flush.
	DefaultShutdownTimeout = 10 * time.Second
	// RuntimeEnv names the environment variable systemd sets for
	// RuntimeDirectory=.
	RuntimeEnv = "RUNTIME_DIRECTORY"
	// DefaultRuntimeDir is the runtime directory when $RUNTIME_DIRECTORY is
	// unset.
	DefaultRuntimeDir = "/run/sioagent"
	// DefaultLogLevel is the default log level.
	DefaultLogLevel = "info"
	// MaxFileSize is the largest configuration file Load reads.
	MaxFileSize = 1 << 20
)

// Config is a loaded, validated and defaulted configuration.
type Config struct {
	// File is the path the configuration was loaded from.
	File string
	// Device identifies this device.
	Device Device
	// Server says where and how to connect.
	Server Server
	// Outbox bounds the durable queue of unsent telemetry.
	Outbox Outbox
	// Telemetry shapes the telemetry batches.
	Telemetry Telemetry
	// Commands configures remote command handling.
	Commands Commands
	// Agent holds process-level settings.
	Agent Agent
	// Clock says when the wall clock is trusted.
	Clock Clock
	// Metrics says where the Prometheus metrics go.
	Metrics Metrics
	// RemoteConfig says whether and what the server may change remotely.
	RemoteConfig RemoteConfig
	// Sensors are the configured sensors in file order.
	Sensors []Sensor
}

// Device is the [device] section.
type Device struct {
	// ID is required: 1 to 64 characters from A-Z a-z 0-9 "." "_" "-",
	// starting with a letter or digit, so that it is a valid SenML name part
	// (no ":" or "/").
	ID string
}

// Server is the [server] section.
type Server struct {
	// URL is required: scheme http, https, ws or wss, no user info, no
	// fragment; a query is allowed but must not carry a "token" parameter.
	URL string
	// Namespace is the Socket.IO namespace; default "/"; must start with
	// "/".
	Namespace string
	// TokenFile holds the auth token. Default: $CREDENTIALS_DIRECTORY/token
	// when that variable is set (systemd LoadCredential=), else "" (no
	// token). Setting it to "" explicitly means no token.
	TokenFile string
	// Transports is ["websocket"] (default), ["polling"],
	// ["polling", "websocket"] (upgrade) or ["websocket", "polling"].
	Transports []string
	// AckTimeout is how long an emit waits for its ack; default 10s.
	AckTimeout time.Duration
	// ConnectTimeout bounds one connection attempt; default 20s.
	ConnectTimeout time.Duration
	// ReconnectDelay is the first reconnection delay; default 1s.
	ReconnectDelay time.Duration
	// ReconnectDelayMax caps the reconnection delay; default 30s; at least
	// ReconnectDelay.
	ReconnectDelayMax time.Duration
	// CAFile is an optional PEM bundle of CAs to trust (https/wss only).
	CAFile string
	// CertFile is an optional client certificate (with KeyFile).
	CertFile string
	// KeyFile is the client certificate's key (with CertFile).
	KeyFile string
	// Headers are optional extra HTTP headers sent on every request.
	Headers map[string]string
	// Compression offers WebSocket permessage-deflate to the server
	// (engineio.Options.Compression); default DefaultCompression (true).
	Compression bool
}

// Outbox is the [outbox] section.
type Outbox struct {
	// Path of the database; default $STATE_DIRECTORY/outbox.db when that
	// variable is set, else "/var/lib/sioagent/outbox.db".
	Path string
	// MaxBytes bounds the stored records; default 64 MiB, 1 MiB to 96 MiB.
	MaxBytes int64
	// MaxRecords bounds the number of records; 0 (default) is unlimited.
	MaxRecords int
	// MaxAge drops records older than this; 0 (default) is unlimited.
	MaxAge time.Duration
	// Overflow is "drop-oldest" (default) or "reject".
	Overflow string
	// Window is the number of records in flight: WindowAuto (window =
	// "auto", the default) or a fixed 1 to 256.
	Window int
	// DrainRate bounds the telemetry bytes sent per second (drain_rate,
	// like "16KiB/s"); 0 (the default) for no bound.
	DrainRate int64
}

// Telemetry is the [telemetry] section.
type Telemetry struct {
	// Event is the event name; empty when the file sets none, which means
	// the wire contract's default (wire.DefaultTelemetryEvent, "telemetry").
	Event string
	// BatchMaxRecords is the most readings in one batch; default 50, 1 to
	// 1000.
	BatchMaxRecords int
	// BatchMaxDelay is the longest a reading waits for its batch to fill;
	// default 1s, more than 0 and at most 1h.
	BatchMaxDelay time.Duration
	// BatchMaxBytes caps the encoded size of one batch: a batch is closed
	// before a reading would take it over (a single reading always makes
	// a batch). Default DefaultBatchMaxBytes, MinBatchMaxBytes to
	// MaxBatchMaxBytes.
	BatchMaxBytes int
}

// Commands is the [commands] section.
type Commands struct {
	// Timeout is the per-command timeout; default 10s.
	Timeout time.Duration
	// RememberIDs is how many answered command ids are remembered for
	// idempotency; default 1024.
	RememberIDs int
}

// Agent is the [agent] section.
type Agent struct {
	// ShutdownTimeout is the SIGTERM flush deadline; default 10s.
	ShutdownTimeout time.Duration
	// RuntimeDir holds the status socket; default $RUNTIME_DIRECTORY when
	// set, else "/run/sioagent".
	RuntimeDir string
	// LogLevel is "debug", "info" (default), "warn" or "error".
	LogLevel string
}

// Values of [clock] trust.
const (
	// ClockTrustAuto trusts the wall clock once the system says it is
	// synchronised (systemd-timesyncd's flag file, or the kernel's
	// synchronisation state); readings taken before are re-timed or sent
	// relative to their arrival. The default: a Raspberry Pi has no RTC.
	ClockTrustAuto = "auto"
	// ClockTrustSystem trusts the wall clock at all times: for boards with
	// a real-time clock, and time daemons (chrony without the kernel's
	// sync flag, a container's host clock) that the auto check cannot see.
	ClockTrustSystem = "system"
)

// Clock is the [clock] section.
type Clock struct {
	// Trust is ClockTrustAuto (default) or ClockTrustSystem.
	Trust string
}

// Load reads and parses the configuration file at path, taking
// environment-dependent defaults from the process environment and the
// sensors' driver keys from drivers.
func Load(path string, drivers *Drivers) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, &Error{File: path, Key: "file", Reason: fmt.Sprintf("larger than %d bytes; a configuration file must be smaller", MaxFileSize)}
	}
	return Parse(path, data, os.Getenv, drivers)
}

// Parse parses and validates a configuration. file names it in errors and
// becomes Config.File; getenv supplies the environment (nil means an empty
// environment); drivers are the sensor drivers [[sensors]] tables may name
// (required: package sensors/drivers builds sioagent's).
func Parse(file string, data []byte, getenv func(string) string, drivers *Drivers) (*Config, error) {
	if drivers == nil {
		return nil, errNoDrivers
	}
	return parse(file, data, getenv, drivers)
}

// errNoDrivers is Parse's error when it is given no Drivers.
var errNoDrivers = errors.New("config: Parse needs the sensor drivers (package sensors/drivers)")

// SensorByName returns the sensor with the given name.
func (c *Config) SensorByName(name string) (Sensor, bool) {
	for _, s := range c.Sensors {
		if s.Name == name {
			return s, true
		}
	}
	return Sensor{}, false
}

// Error is a configuration error. Its text is "<file>: <key>: <reason>".
type Error struct {
	// File is the configuration file.
	File string
	// Key is the dotted key, e.g. "server.url" or
	// `sensors."greenhouse".interval` (a sensor is named by its name, or by
	// its index, "sensors[2]", when it has no valid name); for a TOML
	// syntax error it is "line N".
	Key string
	// Reason says what is wrong and what is allowed.
	Reason string
	// Err is the underlying error, if any (a toml.ParseError for syntax
	// errors).
	Err error
}

// Error implements error. The file part is left out when File is empty.
func (e *Error) Error() string {
	if e.File == "" {
		return e.Key + ": " + e.Reason
	}
	return e.File + ": " + e.Key + ": " + e.Reason
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
