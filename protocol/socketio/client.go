package socketio

import (
	"context"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/sioagent/sioagent/internal/backoff"
	"github.com/sioagent/sioagent/protocol/engineio"
)

// Options configure a Client. A nil *Options means the zero value, which is
// usable; New never modifies the caller's Options.
type Options struct {
	// Engine configures the Engine.IO sessions: transports, path, query,
	// headers, TLS, timeouts, dialer and proxy. Its OnMessage field is the
	// client's own and is ignored. Never put secrets in the query: use
	// SocketOptions.Auth.
	Engine engineio.Options
	// MaxAttachments is the most binary attachments accepted in one incoming
	// packet; DefaultMaxAttachments when zero.
	MaxAttachments int
	// MaxQueuedEvents bounds the incoming events that wait for their
	// handlers on the dispatcher (and, separately, those a socket keeps
	// until the server's CONNECT reply); DefaultMaxQueuedEvents when zero.
	// An event beyond it closes the connection with ErrDispatchQueueFull
	// (ErrPreConnectQueueFull) and the client reconnects: the reader never
	// waits for a slow handler, and memory stays bounded.
	MaxQueuedEvents int
	// MaxQueuedBytes bounds the payload bytes (JSON text and attachments)
	// of those queued events in the same way; DefaultMaxQueuedBytes when
	// zero. An empty queue always takes one event, whatever its size (the
	// engine's ReadLimit bounds it).
	MaxQueuedBytes int64

	// NoReconnect turns automatic reconnection off: a failed or lost
	// connection then leaves every socket disconnected.
	NoReconnect bool
	// ReconnectDelay is the first reconnection delay;
	// DefaultReconnectDelay when zero. Each attempt doubles it.
	ReconnectDelay time.Duration
	// ReconnectDelayMax caps the delay; DefaultReconnectDelayMax when zero.
	ReconnectDelayMax time.Duration
	// RandomizationFactor spreads each delay by up to ± this fraction;
	// DefaultRandomizationFactor when zero, no jitter when negative or
	// above 1 (as in the reference client).
	RandomizationFactor float64
	// ReconnectAttempts is how many attempts in a row may fail before the
	// client gives up (StatusReconnectFailed) and disconnects its sockets;
	// unlimited when zero.
	ReconnectAttempts int
	// StableAfter is how long a connection must have stayed up for the next
	// reconnection to start again from ReconnectDelay; DefaultStableAfter
	// when zero. A connection that drops sooner keeps backing off.
	StableAfter time.Duration

	// OnStatus receives the lifecycle of the client and its sockets (see
	// Status), on the dispatcher goroutine, in order with event handlers.
	OnStatus func(Status)
	// Logger receives debug and warning records; none when nil. Secrets
	// (auth payloads) are never logged.
	Logger *slog.Logger
}

// Client is a connection to one Socket.IO server: one Engine.IO session
// multiplexing any number of namespace Sockets, reconnected with backoff
// when it drops (the reference client's Manager). Create it with New, get
// sockets with Socket, and always end it with Close, which stops its
// goroutines.
type Client struct {
	url       string
	opts      Options
	log       *slog.Logger
	disp      *dispatcher
	reconnect *backoff.Backoff // the delays between reconnection attempts
	bounds    queueBounds      // of the dispatcher and of each pre-CONNECT queue
	counts    counters
	link      link // the reconnection the sockets' states follow (state.go)

	mu      sync.Mutex
	sess    *engineio.Session
	sockets map[string]*Socket
	decoder Decoder
	lastErr error // why the last connection attempt failed
	closed  bool

	failures  int // connection attempts that failed in a row
	tries     int // reconnection attempts since the last session opened
	closeOnce sync.Once

	wake   chan struct{}      // a socket wants to connect
	life   context.Context    // the manager's context, ended by Close: handlers' ctx
	cancel context.CancelFunc // ends it
	done   chan struct{}      // closed when the manager has exited
}

// New returns a client for the server at rawURL (http, https, ws or wss).
// It does no I/O: the connection opens with the first Socket.Connect. The
// URL's path, if any, is the default namespace for Socket("").
func New(rawURL string, opts *Options) (*Client, error) {
	if _, err := engineio.EndpointURL(rawURL, "", engineio.TransportWebSocket, "", nil); err != nil {
		return nil, err
	}
	c := &Client{
		url:     rawURL,
		sockets: make(map[string]*Socket),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	if opts != nil {
		c.opts = *opts
	}
	if c.opts.StableAfter <= 0 {
		c.opts.StableAfter = DefaultStableAfter
	}
	c.log = c.opts.Logger
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.reconnect = newBackoff(&c.opts)
	c.decoder.MaxAttachments = c.opts.MaxAttachments
	c.bounds = newQueueBounds(&c.opts)
	c.disp = newDispatcher(c.bounds, c.log, &c.counts.handlerPanics)
	c.life, c.cancel = context.WithCancel(context.Background())
	go c.run(c.life)
	return c, nil
}

// defaultNamespace is the namespace named by the URL's path, or "/".
func (c *Client) defaultNamespace() string {
	u, err := url.Parse(c.url)
	if err != nil || u.Path == "" {
		return DefaultNamespace
	}
	return u.Path
}

// Socket returns the socket for namespace ("" means the URL's path, or "/"),
// creating it with opts on first use; later calls return the same Socket and
// ignore opts. Register handlers, then call Connect.
func (c *Client) Socket(namespace string, opts *SocketOptions) *Socket {
	if namespace == "" {
		namespace = c.defaultNamespace()
	}
	if namespace[0] != '/' {
		namespace = "/" + namespace
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.sockets[namespace]; ok {
		return s
	}
	s := newSocket(c, namespace, opts)
	if c.closed {
		s.st.cur.Err = errClientClosed // its state is final from the start
	}
	c.sockets[namespace] = s
	return s
}

// Handshake returns the current Engine.IO session's handshake, and false
// when no session is open.
func (c *Client) Handshake() (engineio.Handshake, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		return engineio.Handshake{}, false
	}
	return c.sess.Handshake(), true
}

// Transport returns the transport of the open session ("websocket" or
// "polling"), or "" when none is open.
func (c *Client) Transport() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		return ""
	}
	return c.sess.Transport()
}

// Compressed reports whether the current session's WebSocket negotiated
// permessage-deflate (engineio.Options.Compression): false while
// disconnected, on long-polling, or when the server did not accept it.
func (c *Client) Compressed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess != nil && c.sess.Compressed()
}

// notify wakes the manager because a socket wants to connect.
func (c *Client) notify() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// status queues a lifecycle notification for OnStatus.
func (c *Client) status(st Status) {
	if c.opts.OnStatus != nil {
		c.disp.push(func() { c.opts.OnStatus(st) })
	}
}

// socketList returns the sockets; c.mu must be held.
func (c *Client) socketList() []*Socket {
	list := make([]*Socket, 0, len(c.sockets))
	for _, s := range c.sockets {
		list = append(list, s)
	}
	return list
}

func (c *Client) allSockets() []*Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.socketList()
}

// onMessage runs on the session's reader goroutine: it decodes and routes
// one Engine.IO message. An error closes the session ("parse error").
func (c *Client) onMessage(data []byte, binary bool) error {
	c.mu.Lock()
	p, err := c.decoder.Decode(data, binary)
	var s *Socket
	if p != nil {
		s = c.sockets[nsOf(p)]
	}
	c.mu.Unlock()
	if err != nil {
		c.log.Warn("socketio: bad packet from server", "err", err)
		return err
	}
	if p == nil {
		return nil // waiting for attachments
	}
	if s == nil {
		c.log.Debug("socketio: packet for unknown namespace", "namespace", nsOf(p), "type", p.Type)
		return nil
	}
	return s.onPacket(p)
}

func nsOf(p *Packet) string {
	if p.Namespace == "" {
		return DefaultNamespace
	}
	return p.Namespace
}

// send writes one packet and its attachments over sess as one group.
func send(ctx context.Context, sess *engineio.Session, p *Packet) error {
	return sess.Send(ctx, engineGroup(p)...)
}

// trySend is send that drops the packet rather than wait for the queue.
func trySend(sess *engineio.Session, p *Packet) error {
	return sess.TrySend(engineGroup(p)...)
}

// engineGroup turns a packet into Engine.IO messages: the text part, then
// one binary message per attachment.
func engineGroup(p *Packet) []engineio.Packet {
	group := make([]engineio.Packet, 1, 1+len(p.Attachments))
	group[0] = engineio.Packet{Type: engineio.Message, Data: AppendPacket(nil, p)}
	for _, a := range p.Attachments {
		group = append(group, engineio.Packet{Type: engineio.Message, Data: a, Binary: true})
	}
	return group
}

// closeTimeout bounds the DISCONNECT packet Socket.Disconnect sends.
const closeTimeout = time.Second

// Close stops reconnecting (at once, also in the middle of a backoff
// delay), closes the Engine.IO session after writing what was already
// queued (for at most a second), disconnects every socket, runs the pending
// lifecycle callbacks and waits for every goroutine of the client to exit.
// Pending acks and buffered emits fail with ErrDisconnected. It is
// idempotent. Do not call it from a handler, which would wait for itself;
// call Socket.Disconnect there.
//
// Close sends no DISCONNECT packets: the server sees "transport close". The
// Node server ignores events it has not dispatched yet once it has
// processed a DISCONNECT, so an Emit followed at once by DISCONNECT can be
// lost, while a transport close lets it handle them first.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	<-c.done
	c.closeOnce.Do(func() { // concurrent callers wait here for the first
		for _, s := range c.allSockets() {
			s.deactivate(errClientClosed)
		}
		c.disp.stop()
	})
	return nil
}

// errIfClosed returns ErrClosed after Close.
func (c *Client) errIfClosed() error {
	if c.closedNow() {
		return ErrClosed
	}
	return nil
}

// closedNow reports whether Close has been called.
func (c *Client) closedNow() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// lastError returns why the last connection attempt failed, or nil.
func (c *Client) lastError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}
