package engineio

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
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
	// DefaultReadLimit is the default largest packet accepted from the
	// server (see Options.ReadLimit); the server's maxPayload never
	// raises it.
	DefaultReadLimit = 16 << 20
	// DefaultMaxPayload is assumed when the server's handshake states none.
	DefaultMaxPayload = 1_000_000
	// sendQueueLen is how many packet groups may wait for the writer before
	// Send blocks.
	sendQueueLen = 64
	// closeFlushTimeout bounds how long Close waits for queued packets to
	// be written.
	closeFlushTimeout = time.Second
	// maxErrorBody is how much of a refused request's body is kept.
	maxErrorBody = 512
	// CompressMinSize is the smallest message a session with
	// Options.Compression compresses, the threshold of the Node ws
	// server's permessage-deflate: below it, deflate saves a few bytes at
	// best and costs a flate writer per message.
	CompressMinSize = 1024
)

// Transport names, the values of Options.Transports and of
// Session.Transport. They are the names the protocol uses in the transport
// query parameter and in the handshake's upgrades.
const (
	// TransportWebSocket is one WebSocket connection per session.
	TransportWebSocket = "websocket"
	// TransportPolling is HTTP long-polling: a held GET receives, a POST
	// sends.
	TransportPolling = "polling"
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
	// ReadLimit is the largest packet accepted from the server;
	// DefaultReadLimit when zero or negative. It is the client's own bound:
	// the server's handshake never raises it (maxPayload bounds what the
	// server accepts, not what it sends). A larger packet ends the session
	// with a *TransportError. A long-polling response may carry many
	// packets: its body may be PollBodyFactor times as large (at least
	// MinPollBodyLimit), and a larger body ends the session with
	// ErrBodyTooLarge.
	ReadLimit int64
	// NetDialContext dials the TCP connections (to the server, or to the
	// proxy when there is one); net.Dialer when nil. Tests use it to put a
	// fault-injecting proxy in the way.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Proxy returns the HTTP proxy for a request; http.ProxyFromEnvironment
	// (HTTP_PROXY, HTTPS_PROXY, NO_PROXY) when nil. It applies to both
	// transports: polling requests go through the proxy, WebSockets tunnel
	// through it with CONNECT.
	Proxy func(*http.Request) (*url.URL, error)
	// Transports lists the transports to open the session with, in order
	// of preference: TransportWebSocket, TransportPolling or both. Nil or
	// empty means []string{TransportWebSocket}, the choice for devices.
	//
	// The session opens on Transports[0]. If that cannot connect (dial
	// error, HTTP error, timeout: anything before the server's open
	// packet), Dial tries the next one, like the reference client's
	// tryAllTransports. So {"websocket", "polling"} starts on WebSocket and
	// falls back to polling where WebSockets are blocked. A session that
	// opened on polling upgrades to WebSocket when "websocket" comes later in
	// the list, the server offers it and NoUpgrade is false: so
	// {"polling", "websocket"} is the reference client's default. A
	// transport that failed to connect is not probed again.
	Transports []string
	// Compression offers WebSocket permessage-deflate (RFC 7692) when the
	// session opens on or upgrades to a WebSocket. It is used only if the
	// server accepts the offer (Socket.IO servers do when configured with
	// perMessageDeflate, off by default), and then only without context
	// takeover: each message is compressed on its own. The session then
	// compresses its messages of CompressMinSize bytes or more, and the
	// server may compress its own. Session.Compressed says whether it was
	// negotiated. Each compressed message takes a flate writer (about
	// 1 MB, from a pool the garbage collector empties) and the CPU to fill
	// it; a message read compressed takes a flate reader (about 40 KB).
	// Long-polling is never compressed by this option.
	Compression bool
	// NoUpgrade keeps a session on the transport it opened with (the
	// reference client's upgrade: false).
	NoUpgrade bool
	// OnUpgrade, when set, is called once per upgrade attempt of a polling
	// session: with err nil once the session has switched to transport,
	// or with the reason the probe failed, in which case the session stays
	// on polling and keeps working. It runs on a goroutine of the session,
	// concurrently with OnMessage, never after Close returns, and must
	// not call Close.
	OnUpgrade func(transport string, err error)
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
	if len(c.Transports) == 0 {
		c.Transports = []string{TransportWebSocket}
	} else {
		c.Transports = append([]string(nil), c.Transports...) // never alias the caller's slice
	}
	return c
}

// checkTransports reports an unknown or repeated transport name.
func checkTransports(names []string) error {
	for i, name := range names {
		if name != TransportWebSocket && name != TransportPolling {
			return fmt.Errorf("engineio: unknown transport %q (want %q or %q)", name, TransportWebSocket, TransportPolling)
		}
		if slices.Contains(names[:i], name) {
			return fmt.Errorf("engineio: transport %q listed twice", name)
		}
	}
	return nil
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
	case transport == TransportWebSocket && secure:
		return "wss"
	case transport == TransportWebSocket:
		return "ws"
	case secure:
		return "https"
	default:
		return "http"
	}
}
