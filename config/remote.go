package config

import (
	"errors"
	"fmt"
)

// Tables of [remote_config] allow: what a remote change (config:apply)
// may set once enabled.
const (
	// RemoteSensors lets a remote change replace the [[sensors]] list
	// (outputs included: the server may then declare gpio-out pins).
	RemoteSensors = "sensors"
	// RemoteTelemetry lets a remote change set [telemetry] keys.
	RemoteTelemetry = "telemetry"
	// RemoteOutbox lets a remote change set [outbox] keys but path.
	RemoteOutbox = "outbox"
)

// remoteKeys are the keys of [remote_config].
var remoteKeys = []string{"enabled", "allow", "allow_server"}

// remoteTables are the values allow may list, and its default.
var remoteTables = []string{RemoteSensors, RemoteTelemetry, RemoteOutbox}

// secretServerKeys are the [server] keys that hold or point to
// credentials: never set remotely, redacted in Document.JSON.
var secretServerKeys = []string{"token_file", "ca_file", "cert_file", "key_file", "headers"}

// ErrNotAllowed is wrapped by the *Error of RemoteConfig.Check for a key a
// remote change may not set.
var ErrNotAllowed = errors.New("not allowed remotely")

// RemoteConfig is the [remote_config] section: whether and what the
// server may change remotely (config:apply, docs/CONFIG.md). A remote
// change never sets this section itself.
type RemoteConfig struct {
	// Enabled lets the server read and change the configuration
	// remotely; default false: an operator opts in.
	Enabled bool
	// Allow lists the tables a remote change may set, from
	// RemoteSensors, RemoteTelemetry and RemoteOutbox; default all three.
	Allow []string
	// AllowServer lets a remote change set the [server] connection keys
	// (url, namespace, transports and the timeouts and delays), never
	// its credentials (token_file, ca_file, cert_file, key_file,
	// headers); default false.
	AllowServer bool
}

// Allows reports whether Allow lists table.
func (r RemoteConfig) Allows(table string) bool { return contains(r.Allow, table) }

// Check reports whether overlay sets only what r allows a remote change
// to set. The error is an *Error wrapping ErrNotAllowed at the first key
// (in table, then key order) that is not allowed. It does not validate
// the values: Document.Parse of the merged document does.
func (r RemoteConfig) Check(overlay *Document) error {
	deny := func(key, format string, args ...any) error {
		return &Error{File: overlay.file, Key: key, Reason: fmt.Sprintf(format, args...), Err: ErrNotAllowed}
	}
	for _, table := range overlay.Tables() {
		switch table {
		case RemoteSensors, RemoteTelemetry, RemoteOutbox:
			if !r.Allows(table) {
				return deny(table, "not in [remote_config] allow (%s)", quoteArray(r.Allow))
			}
			if table == RemoteOutbox && contains(overlay.Keys(table), "path") {
				return deny("outbox.path", "never set remotely: the outbox file stays where the local file puts it")
			}
		case "server":
			if !r.AllowServer {
				return deny(table, "needs [remote_config] allow_server = true in the local file")
			}
			for _, k := range overlay.Keys(table) {
				if contains(secretServerKeys, k) {
					return deny("server."+k, "never set remotely: credentials and TLS material stay in the local file")
				}
			}
		default:
			return deny(table, "never set remotely; a remote change may set %s and, with allow_server, [server]", QuoteList(remoteTables))
		}
	}
	return nil
}

// remoteKey parses one key of [remote_config].
func (p *parser) remoteKey(r *RemoteConfig, k, key string, v any) *Error {
	var err *Error
	switch k {
	case "enabled":
		r.Enabled, err = p.boolean(key, v)
	case "allow":
		r.Allow, err = p.allowList(key, v)
	case "allow_server":
		r.AllowServer, err = p.boolean(key, v)
	}
	return err
}

// allowList decodes remote_config.allow.
func (p *parser) allowList(key string, v any) ([]string, *Error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, p.errf(key, "must be an array of table names, got %s; allowed: %s", Describe(v), QuoteList(remoteTables))
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		s, ok := e.(string)
		switch {
		case !ok:
			return nil, p.errf(key, "must contain strings, got %s; allowed: %s", Describe(e), QuoteList(remoteTables))
		case s == "server":
			return nil, p.errf(key, "\"server\" is not listed here; set allow_server = true to let a remote change set [server]")
		case !contains(remoteTables, s):
			return nil, p.errf(key, "%q is not allowed; must be %s", s, QuoteList(remoteTables))
		case contains(out, s):
			return nil, p.errf(key, "%q is listed twice", s)
		}
		out = append(out, s)
	}
	return out, nil
}
