package config

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/sioagent/sioagent/protocol/senml"
)

// Section names, in the order absent sections are defaulted.
var sectionNames = []string{"device", "server", "outbox", "telemetry", "commands", "agent", "clock", "metrics", "remote_config", "sensors"}

// Keys of each section, in documentation order.
var (
	deviceKeys    = []string{"id"}
	serverKeys    = []string{"url", "namespace", "token_file", "transports", "ack_timeout", "connect_timeout", "reconnect_delay", "reconnect_delay_max", "ca_file", "cert_file", "key_file", "headers", "compression"}
	outboxKeys    = []string{"path", "max_bytes", "max_records", "max_age", "overflow", "window", "drain_rate"}
	telemetryKeys = []string{"event", "batch_max_records", "batch_max_delay", "batch_max_bytes"}
	commandsKeys  = []string{"timeout", "remember_ids"}
	agentKeys     = []string{"shutdown_timeout", "runtime_dir", "log_level"}
	clockKeys     = []string{"trust"}
)

// Bounds of the durations outside [[sensors]].
var (
	timeoutBounds  = DurationRange{Min: MinTimeout, Max: MaxTimeout}
	delayBounds    = DurationRange{Max: MaxTimeout}
	maxAgeBounds   = DurationRange{Zero: "no age limit"}
	batchDelayBnds = DurationRange{Max: MaxBatchMaxDelay}
)

// Allowed values of enumerated keys.
var (
	overflowValues = []string{OverflowDropOldest, OverflowReject}
	logLevels      = []string{"debug", "info", "warn", "error"}
	urlSchemes     = []string{"http", "https", "ws", "wss"}
	// reservedEvents are Socket.IO's own event names.
	reservedEvents = []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
	// forbiddenHeaders are set by the HTTP and WebSocket clients themselves.
	forbiddenHeaders = []string{"Host", "Connection", "Upgrade", "Content-Length", "Transfer-Encoding", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions"}
)

// parser holds the state of one Parse call.
type parser struct {
	file   string
	getenv func(string) string
	// pos maps a key path (elements joined by joinPath; array-of-tables
	// elements are numbered) to the index of its first key in the document.
	pos map[string]int
	// drivers decode the driver keys of [[sensors]] tables.
	drivers *Drivers
}

func parse(file string, data []byte, getenv func(string) string, drivers *Drivers) (*Config, error) {
	d, err := DecodeDocument(file, data)
	if err != nil {
		return nil, err
	}
	return d.Parse(getenv, drivers)
}

// syntaxError converts a TOML decoding error.
func syntaxError(file string, err error) *Error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		reason := pe.Message
		if pe.Position.Col > 0 {
			reason = fmt.Sprintf("column %d: %s", pe.Position.Col, pe.Message)
		}
		return &Error{File: file, Key: "line " + strconv.Itoa(pe.Position.Line), Reason: "TOML syntax error: " + reason, Err: err}
	}
	return &Error{File: file, Key: "toml", Reason: err.Error(), Err: err}
}

// keyPositions records where each key path first occurs in the document.
// The keys of the n-th [[sensors]] table are recorded under "sensors", n.
func keyPositions(md toml.MetaData) map[string]int {
	pos := make(map[string]int)
	arrayTables := md.Type("sensors") == "ArrayHash"
	sensor := -1
	for i, k := range md.Keys() {
		path := []string(k)
		if arrayTables && path[0] == "sensors" {
			if len(path) == 1 {
				sensor++
			}
			path = append([]string{"sensors", strconv.Itoa(sensor)}, path[1:]...)
		}
		prefix := ""
		for _, el := range path {
			prefix = joinPath(prefix, el)
			if _, ok := pos[prefix]; !ok {
				pos[prefix] = i
			}
		}
	}
	return pos
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// setDefaults fills in every default that does not depend on the
// environment or on other keys.
func setDefaults(c *Config) {
	c.Server = Server{
		Namespace:         DefaultNamespace,
		Transports:        []string{TransportWebSocket},
		AckTimeout:        DefaultAckTimeout,
		ConnectTimeout:    DefaultConnectTimeout,
		ReconnectDelay:    DefaultReconnectDelay,
		ReconnectDelayMax: DefaultReconnectDelayMax,
		Compression:       DefaultCompression,
	}
	c.Outbox = Outbox{MaxBytes: DefaultMaxBytes, Overflow: OverflowDropOldest, Window: DefaultWindow}
	c.Telemetry = Telemetry{BatchMaxRecords: DefaultBatchMaxRecords, BatchMaxDelay: DefaultBatchMaxDelay, BatchMaxBytes: DefaultBatchMaxBytes}
	c.Commands = Commands{Timeout: DefaultCommandTimeout, RememberIDs: DefaultRememberIDs}
	c.Agent = Agent{ShutdownTimeout: DefaultShutdownTimeout, LogLevel: DefaultLogLevel}
	c.Clock = Clock{Trust: ClockTrustAuto}
	c.Metrics = Metrics{Interval: DefaultMetricsInterval}
	c.RemoteConfig = RemoteConfig{Allow: append([]string(nil), remoteTables...)}
}

// section parses one top-level section, then completes it.
func (p *parser) section(c *Config, name string, v any) *Error {
	if name == "sensors" {
		return p.sensors(c, v)
	}
	tbl, ok := v.(map[string]any)
	if !ok {
		return p.errf(name, "must be a table ([%s]), got %s", name, Describe(v))
	}
	for _, k := range p.ordered(tbl, name) {
		if err := p.sectionKey(c, name, k, tbl[k]); err != nil {
			return err
		}
	}
	return p.finish(c, name, tbl)
}

// sectionKey parses one key of a section other than [[sensors]].
func (p *parser) sectionKey(c *Config, section, k string, v any) *Error {
	key := section + "." + k
	var known []string
	var err *Error
	switch section {
	case "device":
		known = deviceKeys
		if k == "id" {
			c.Device.ID, err = p.deviceID(key, v)
		}
	case "server":
		known = serverKeys
		err = p.serverKey(&c.Server, k, key, v)
	case "outbox":
		known = outboxKeys
		err = p.outboxKey(&c.Outbox, k, key, v)
	case "telemetry":
		known = telemetryKeys
		err = p.telemetryKey(&c.Telemetry, k, key, v)
	case "commands":
		known = commandsKeys
		err = p.commandsKey(&c.Commands, k, key, v)
	case "agent":
		known = agentKeys
		err = p.agentKey(&c.Agent, k, key, v)
	case "clock":
		known = clockKeys
		if k == "trust" {
			c.Clock.Trust, err = p.oneOf(key, v, ClockTrustAuto, ClockTrustSystem)
		}
	case "metrics":
		known = metricsKeys
		err = p.metricsKey(&c.Metrics, k, key, v)
	case "remote_config":
		known = remoteKeys
		err = p.remoteKey(&c.RemoteConfig, k, key, v)
	}
	if err == nil && !contains(known, k) {
		return p.unknown(key, k, known, true)
	}
	return err
}

// finish applies the defaults that depend on the environment or on other
// keys of the section, then checks what spans several keys.
func (p *parser) finish(c *Config, section string, tbl map[string]any) *Error {
	switch section {
	case "device":
		if _, ok := tbl["id"]; !ok {
			return p.errf("device.id", "missing; every device needs an id, e.g. [device] id = \"pi-7\"")
		}
	case "server":
		return p.finishServer(&c.Server, tbl)
	case "outbox":
		if _, ok := tbl["path"]; !ok {
			c.Outbox.Path = DefaultOutboxPath
			if dir := firstDir(p.getenv(StateEnv)); dir != "" {
				c.Outbox.Path = filepath.Join(dir, OutboxFileName)
			}
		}
	case "agent":
		if _, ok := tbl["runtime_dir"]; !ok {
			c.Agent.RuntimeDir = DefaultRuntimeDir
			if dir := firstDir(p.getenv(RuntimeEnv)); dir != "" {
				c.Agent.RuntimeDir = dir
			}
		}
	}
	return nil
}

// firstDir returns the first of systemd's colon-separated directories.
func firstDir(env string) string {
	dir, _, _ := strings.Cut(env, ":")
	return dir
}

// deviceID decodes device.id.
func (p *parser) deviceID(key string, v any) (string, *Error) {
	s, err := p.str(key, v)
	if err != nil {
		return "", err
	}
	if !validName(s) || !isAlnum(s[0]) {
		return "", p.errf(key, "%q is not a valid device id; use 1 to %d characters from A-Z a-z 0-9 \".\" \"_\" \"-\", starting with a letter or digit", s, MaxIDLen)
	}
	if _, e := senml.DeviceBaseName(s); e != nil {
		return "", p.errf(key, "%q is not a valid SenML name: %v", s, e)
	}
	return s, nil
}

// serverKey parses one key of [server]; unknown keys are left to the
// caller.
func (p *parser) serverKey(s *Server, k, key string, v any) *Error {
	var err *Error
	switch k {
	case "url":
		s.URL, err = p.serverURL(key, v)
	case "namespace":
		s.Namespace, err = p.namespace(key, v)
	case "token_file":
		s.TokenFile, err = p.str(key, v)
	case "transports":
		s.Transports, err = p.transports(key, v)
	case "ack_timeout":
		s.AckTimeout, err = p.duration(key, v, timeoutBounds)
	case "connect_timeout":
		s.ConnectTimeout, err = p.duration(key, v, timeoutBounds)
	case "reconnect_delay":
		s.ReconnectDelay, err = p.duration(key, v, delayBounds)
	case "reconnect_delay_max":
		s.ReconnectDelayMax, err = p.duration(key, v, delayBounds)
	case "ca_file":
		s.CAFile, err = p.nonEmpty(key, v)
	case "cert_file":
		s.CertFile, err = p.nonEmpty(key, v)
	case "key_file":
		s.KeyFile, err = p.nonEmpty(key, v)
	case "headers":
		s.Headers, err = p.headers(key, v)
	case "compression":
		s.Compression, err = p.boolean(key, v)
	}
	return err
}

// serverURL decodes server.url. Reasons never echo the URL, which could
// hold a secret.
func (p *parser) serverURL(key string, v any) (string, *Error) {
	s, err := p.nonEmpty(key, v)
	if err != nil {
		return "", err
	}
	u, perr := url.Parse(s)
	switch {
	case perr != nil:
		return "", p.errf(key, "not a valid URL; use e.g. \"https://iot.example.com\"")
	case u.Scheme == "":
		return "", p.errf(key, "no scheme; must start with http://, https://, ws:// or wss://")
	case !contains(urlSchemes, u.Scheme):
		return "", p.errf(key, "scheme %q is not allowed; must be %s", u.Scheme, QuoteList(urlSchemes))
	case u.User != nil:
		return "", p.errf(key, "must not contain user info (user@host); put the secret in token_file or headers")
	case u.Host == "" || u.Hostname() == "":
		return "", p.errf(key, "no host; use e.g. \"%s://iot.example.com\"", u.Scheme)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "", p.errf(key, "must not have a fragment (#...); it is never sent to the server")
	}
	q, qerr := url.ParseQuery(u.RawQuery)
	if qerr != nil {
		return "", p.errf(key, "malformed query string; use name=value pairs separated by &")
	}
	for name := range q {
		if strings.EqualFold(name, "token") {
			return "", p.errf(key, "must not carry a \"token\" query parameter; tokens never go in the URL, use token_file")
		}
	}
	return s, nil
}

// namespace decodes server.namespace.
func (p *parser) namespace(key string, v any) (string, *Error) {
	s, err := p.str(key, v)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(s, "/") {
		return "", p.errf(key, "%q must start with \"/\", e.g. \"/\" or \"/devices\"", s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == ',' || c == '?' || c == '#' {
			return "", p.errf(key, "%q contains %q; use printable ASCII without spaces, \",\", \"?\" or \"#\"", s, string(c))
		}
	}
	return s, nil
}

// transports decodes server.transports.
func (p *parser) transports(key string, v any) ([]string, *Error) {
	const allowed = `["websocket"], ["polling"], ["polling", "websocket"] or ["websocket", "polling"]`
	arr, ok := v.([]any)
	if !ok {
		return nil, p.errf(key, "must be an array of transport names, got %s; allowed: %s", Describe(v), allowed)
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil, p.errf(key, "must contain strings, got %s; allowed: %s", Describe(e), allowed)
		}
		out = append(out, s)
	}
	switch strings.Join(out, ",") {
	case "websocket", "polling", "polling,websocket", "websocket,polling":
		return out, nil
	}
	return nil, p.errf(key, "%s is not allowed; must be %s", quoteArray(out), allowed)
}

// quoteArray formats a string list as a TOML array.
func quoteArray(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// headers decodes server.headers.
func (p *parser) headers(key string, v any) (map[string]string, *Error) {
	tbl, ok := v.(map[string]any)
	if !ok {
		return nil, p.errf(key, "must be a table of header names to string values, got %s", Describe(v))
	}
	out := make(map[string]string, len(tbl))
	seen := make(map[string]string, len(tbl))
	for _, name := range p.ordered(tbl, joinPath("server", "headers")) {
		hkey := key + "." + name
		val, err := p.str(hkey, tbl[name])
		if err != nil {
			return nil, err
		}
		if !validHeaderName(name) {
			return nil, p.errf(hkey, "not a valid HTTP header name; use letters, digits and !#$%%&'*+-.^_`|~")
		}
		for _, f := range forbiddenHeaders {
			if strings.EqualFold(name, f) {
				return nil, p.errf(hkey, "header %q is set by the client itself and cannot be configured", f)
			}
		}
		if prev, dup := seen[strings.ToLower(name)]; dup {
			return nil, p.errf(hkey, "same header as %q (header names are case-insensitive); keep one", prev)
		}
		for i := 0; i < len(val); i++ {
			if c := val[i]; (c < ' ' && c != '\t') || c == 0x7f {
				return nil, p.errf(hkey, "value contains a control character; only printable characters, spaces and tabs are allowed")
			}
		}
		seen[strings.ToLower(name)] = name
		out[name] = val
	}
	return out, nil
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// finishServer applies the [server] defaults that depend on the
// environment and checks keys against each other.
func (p *parser) finishServer(s *Server, tbl map[string]any) *Error {
	if _, ok := tbl["url"]; !ok {
		return p.errf("server.url", "missing; set the Socket.IO server, e.g. [server] url = \"https://iot.example.com\"")
	}
	if _, ok := tbl["token_file"]; !ok {
		if dir := p.getenv(CredentialsEnv); dir != "" {
			s.TokenFile = filepath.Join(dir, CredentialTokenName)
		}
	}
	_, delaySet := tbl["reconnect_delay"]
	_, maxSet := tbl["reconnect_delay_max"]
	switch {
	case delaySet && maxSet && s.ReconnectDelayMax < s.ReconnectDelay:
		return p.errf("server.reconnect_delay_max", "%s is shorter than reconnect_delay %s; must be at least reconnect_delay",
			fmtDur(s.ReconnectDelayMax), fmtDur(s.ReconnectDelay))
	case !maxSet:
		s.ReconnectDelayMax = max(s.ReconnectDelayMax, s.ReconnectDelay)
	case !delaySet:
		s.ReconnectDelay = min(s.ReconnectDelay, s.ReconnectDelayMax)
	}
	if s.CertFile != "" && s.KeyFile == "" {
		return p.errf("server.cert_file", "set without key_file; set both for a client certificate, or neither")
	}
	if s.KeyFile != "" && s.CertFile == "" {
		return p.errf("server.key_file", "set without cert_file; set both for a client certificate, or neither")
	}
	if u, err := url.Parse(s.URL); err == nil && (u.Scheme == "http" || u.Scheme == "ws") {
		for _, k := range []string{"ca_file", "cert_file", "key_file"} {
			if _, ok := tbl[k]; ok {
				return p.errf("server."+k, "only used with https or wss URLs, but server.url is %s", u.Scheme)
			}
		}
	}
	return nil
}

// outboxKey parses one key of [outbox].
func (p *parser) outboxKey(o *Outbox, k, key string, v any) *Error {
	var err *Error
	var n int64
	switch k {
	case "path":
		o.Path, err = p.nonEmpty(key, v)
	case "max_bytes":
		o.MaxBytes, err = p.size(key, v, MinMaxBytes, MaxMaxBytes)
	case "max_records":
		n, err = p.integer(key, v, 0, MaxMaxRecords)
		o.MaxRecords = int(n)
	case "max_age":
		o.MaxAge, err = p.duration(key, v, maxAgeBounds)
	case "overflow":
		o.Overflow, err = p.oneOf(key, v, overflowValues...)
	case "window":
		o.Window, err = p.window(key, v)
	case "drain_rate":
		o.DrainRate, err = p.rate(key, v, MinDrainRate, MaxDrainRate)
	}
	return err
}

// window decodes outbox.window: "auto" or a fixed 1 to MaxWindow.
func (p *parser) window(key string, v any) (int, *Error) {
	if s, ok := v.(string); ok {
		if s != "auto" {
			return 0, p.errf(key, "%q is not allowed; must be \"auto\" or an integer from 1 to %d", s, MaxWindow)
		}
		return WindowAuto, nil
	}
	n, ok := v.(int64)
	if !ok {
		return 0, p.errf(key, "must be \"auto\" or an integer from 1 to %d, got %s", MaxWindow, Describe(v))
	}
	if n < 1 || n > MaxWindow {
		return 0, p.errf(key, "%d is out of range; must be \"auto\" or from 1 to %d", n, MaxWindow)
	}
	return int(n), nil
}

// telemetryKey parses one key of [telemetry].
func (p *parser) telemetryKey(t *Telemetry, k, key string, v any) *Error {
	var err *Error
	var n int64
	switch k {
	case "event":
		t.Event, err = p.event(key, v)
	case "batch_max_records":
		n, err = p.integer(key, v, 1, MaxBatchMaxRecords)
		t.BatchMaxRecords = int(n)
	case "batch_max_delay":
		t.BatchMaxDelay, err = p.duration(key, v, batchDelayBnds)
	case "batch_max_bytes":
		n, err = p.size(key, v, MinBatchMaxBytes, MaxBatchMaxBytes)
		t.BatchMaxBytes = int(n)
	}
	return err
}

// event decodes an event name.
func (p *parser) event(key string, v any) (string, *Error) {
	s, err := p.nonEmpty(key, v)
	if err != nil {
		return "", err
	}
	if contains(reservedEvents, s) {
		return "", p.errf(key, "%q is reserved by Socket.IO; must not be one of %s", s, QuoteList(reservedEvents))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f {
			return "", p.errf(key, "contains a control character; use printable characters")
		}
	}
	return s, nil
}

// commandsKey parses one key of [commands].
func (p *parser) commandsKey(c *Commands, k, key string, v any) *Error {
	var err *Error
	var n int64
	switch k {
	case "timeout":
		c.Timeout, err = p.duration(key, v, timeoutBounds)
	case "remember_ids":
		n, err = p.integer(key, v, 1, MaxRememberIDs)
		c.RememberIDs = int(n)
	}
	return err
}

// agentKey parses one key of [agent].
func (p *parser) agentKey(a *Agent, k, key string, v any) *Error {
	var err *Error
	switch k {
	case "shutdown_timeout":
		a.ShutdownTimeout, err = p.duration(key, v, delayBounds)
	case "runtime_dir":
		a.RuntimeDir, err = p.nonEmpty(key, v)
	case "log_level":
		a.LogLevel, err = p.oneOf(key, v, logLevels...)
	}
	return err
}
