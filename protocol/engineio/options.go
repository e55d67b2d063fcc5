package engineio

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults for Options.
const (
	// DefaultPath is the Socket.IO endpoint path. The trailing slash matters:
	// the Node server does not match "/socket.io".
	DefaultPath = "/socket.io/"
	// DefaultHandshakeTimeout bounds the transport dial and the wait for the
	// open packet, like the reference client's 20 s "timeout" option.
	DefaultHandshakeTimeout = 20 * time.Second
	// DefaultWriteTimeout bounds one write to the transport.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultMaxPayload is assumed when the server's handshake states none.
	DefaultMaxPayload = 1_000_000
	// sendQueueLen is how many packet groups may wait for the writer before
	// Send blocks.
	sendQueueLen = 64
	// closeFlushTimeout bounds how long Close waits for queued packets to
	// be written.
	closeFlushTimeout = time.Second
	// maxErrorBody is how much of a refused handshake's body is kept.
	maxErrorBody = 512
)

// Options configure a session. The zero value is usable; a nil *Options
// means the zero value. Dial never modifies the caller's Options.
type Options struct {
	// Path is the endpoint path; DefaultPath when empty. The path of the URL
	// given to Dial is not used (Socket.IO reads it as a namespace).
	Path string
	// Query is added to every request, after the URL's own query.
	Query url.Values
	// Header is sent with every request (e.g. Authorization, User-Agent).
	Header http.Header
	// TLSConfig is used for https and wss URLs (custom CA, client cert).
	TLSConfig *tls.Config
	// HandshakeTimeout bounds the dial and the wait for the server's open
	// packet; DefaultHandshakeTimeout when zero. The Dial context may end it
	// earlier.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds each write; DefaultWriteTimeout when zero.
	WriteTimeout time.Duration
	// ReadLimit is the largest packet accepted from the server; when zero it
	// is the server's own maxPayload from the handshake (what the server
	// accepts, the client accepts).
	ReadLimit int64
	// NetDialContext dials the TCP connection; net.Dialer when nil. Tests use
	// it to put a fault-injecting proxy in the way.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Proxy returns the HTTP proxy for a request; http.ProxyFromEnvironment
	// (HTTPS_PROXY, NO_PROXY...) when nil.
	Proxy func(*http.Request) (*url.URL, error)
	// OnMessage receives every message packet's data, in order, on the
	// session's reader goroutine: it must not block for long (pings are not
	// answered meanwhile). The data slice belongs to the callee. A non-nil
	// return ends the session with that error (use it for parse errors).
	OnMessage func(data []byte, binary bool) error
}

// withDefaults returns a copy of o with every zero field given its default.
func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.Proxy == nil {
		c.Proxy = http.ProxyFromEnvironment
	}
	if c.OnMessage == nil {
		c.OnMessage = func([]byte, bool) error { return nil }
	}
	return c
}

// EndpointURL builds the Engine.IO request URL for rawURL: the scheme is
// mapped for the transport ("websocket": ws or wss, "polling": http or
// https), the URL's path is replaced by path (DefaultPath when empty), and EIO, transport, the session
// id (when not empty) and the extra query are added.
func EndpointURL(rawURL, path, transport, sid string, query url.Values) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("engineio: bad URL %q: %w", rawURL, err)
	}
	secure := false
	switch strings.ToLower(u.Scheme) {
	case "http", "ws":
	case "https", "wss":
		secure = true
	default:
		return nil, fmt.Errorf("engineio: bad URL %q: scheme must be http, https, ws or wss", rawURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("engineio: bad URL %q: no host", rawURL)
	}
	u.Scheme = schemeFor(transport, secure)
	if path == "" {
		path = DefaultPath
	}
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	u.Path, u.RawPath = path, ""
	q := u.Query()
	for k, vs := range query {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	q.Set("EIO", strconv.Itoa(Protocol))
	q.Set("transport", transport)
	if sid != "" {
		q.Set("sid", sid)
	}
	u.RawQuery = q.Encode()
	u.Fragment = ""
	return u, nil
}

func schemeFor(transport string, secure bool) string {
	switch {
	case transport == "websocket" && secure:
		return "wss"
	case transport == "websocket":
		return "ws"
	case secure:
		return "https"
	default:
		return "http"
	}
}
