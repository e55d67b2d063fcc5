package socketio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/sioagent/sioagent/protocol/engineio"
)

// Options configure a Client. A nil *Options means the zero value, which is
// usable; New never modifies the caller's Options.
type Options struct {
	// Engine configures the Engine.IO sessions: path, query, headers, TLS,
	// timeouts, dialer and proxy. Its OnMessage field is the client's own
	// and is ignored. Never put secrets in the query: use SocketOptions.Auth.
	Engine engineio.Options
	// MaxAttachments is the most binary attachments accepted in one incoming
	// packet; DefaultMaxAttachments when zero.
	MaxAttachments int
	// Logger receives debug and warning records; none when nil. Secrets
	// (auth payloads) are never logged.
	Logger *slog.Logger
}

// Client is a connection to one Socket.IO server: one Engine.IO session
// multiplexing any number of namespace Sockets (the reference client's
// Manager). Create it with New, get sockets with Socket, and always end it
// with Close, which stops its goroutines.
type Client struct {
	url  string
	opts Options
	log  *slog.Logger
	disp *dispatcher

	openMu sync.Mutex // serialises opening the session

	mu      sync.Mutex
	sess    *engineio.Session
	sockets map[string]*Socket
	decoder Decoder
	closed  bool
	closing chan struct{}
	wg      sync.WaitGroup // the session watcher
}

// New returns a client for the server at rawURL (http, https, ws or wss).
// It does no I/O: the connection opens with the first Socket.Connect. The
// URL's path, if any, is the default namespace for Socket("").
func New(rawURL string, opts *Options) (*Client, error) {
	if _, err := engineio.EndpointURL(rawURL, "", "websocket", "", nil); err != nil {
		return nil, err
	}
	c := &Client{url: rawURL, closing: make(chan struct{}), sockets: make(map[string]*Socket)}
	if opts != nil {
		c.opts = *opts
	}
	c.log = c.opts.Logger
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.decoder.MaxAttachments = c.opts.MaxAttachments
	c.disp = newDispatcher()
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

// session returns the open session, opening one if needed.
func (c *Client) session(ctx context.Context) (*engineio.Session, error) {
	c.openMu.Lock()
	defer c.openMu.Unlock()
	c.mu.Lock()
	sess, closed := c.sess, c.closed
	c.mu.Unlock()
	switch {
	case closed:
		return nil, ErrClosed
	case sess != nil && sess.Err() == nil:
		return sess, nil
	}
	if sess != nil {
		c.wg.Wait() // the watcher of the old session has finished its cleanup
	}
	return c.open(ctx)
}

func (c *Client) open(ctx context.Context) (*engineio.Session, error) {
	c.mu.Lock()
	c.decoder.Reset()
	c.mu.Unlock()
	eopts := c.opts.Engine
	eopts.OnMessage = c.onMessage
	sess, err := engineio.Dial(ctx, c.url, &eopts)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		sess.Close()
		return nil, ErrClosed
	}
	c.sess = sess
	c.wg.Add(1)
	c.mu.Unlock()
	c.log.Debug("socketio: session open", "sid", sess.Handshake().SID)
	go c.watch(sess)
	return sess, nil
}

// watch waits for the session to end and disconnects every socket with the
// session's reason.
func (c *Client) watch(sess *engineio.Session) {
	defer c.wg.Done()
	select {
	case <-sess.Done():
	case <-c.closing:
	}
	sess.Close() // flushes when closing; otherwise waits for the reader and writer to exit
	reason := sess.Err()
	c.log.Debug("socketio: session ended", "reason", Reason(reason))
	c.mu.Lock()
	if c.sess == sess {
		c.sess = nil
	}
	sockets := c.socketList()
	c.mu.Unlock()
	for _, s := range sockets {
		s.onClose(sess, reason)
	}
}

func (c *Client) socketList() []*Socket {
	list := make([]*Socket, 0, len(c.sockets))
	for _, s := range c.sockets {
		list = append(list, s)
	}
	return list
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
	group := make([]engineio.Packet, 1, 1+len(p.Attachments))
	group[0] = engineio.Packet{Type: engineio.Message, Data: AppendPacket(nil, p)}
	for _, a := range p.Attachments {
		group = append(group, engineio.Packet{Type: engineio.Message, Data: a, Binary: true})
	}
	return sess.Send(ctx, group...)
}

// closeTimeout bounds the DISCONNECT packet Socket.Disconnect sends.
const closeTimeout = time.Second

// Close closes the Engine.IO session after writing what was already queued
// (for at most a second), disconnects every socket, runs the pending
// lifecycle callbacks and waits for every goroutine of the client to exit.
// Pending acks fail with ErrDisconnected. It is idempotent. Do not call it
// from a handler, which would wait for itself; call Socket.Disconnect there.
//
// Close sends no DISCONNECT packets: the server sees "transport close". The
// Node server ignores events it has not dispatched yet once it has
// processed a DISCONNECT, so an Emit followed at once by DISCONNECT can be
// lost, while a transport close lets it handle them first.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.wg.Wait()
		return nil
	}
	c.closed = true
	sockets := c.socketList()
	c.mu.Unlock()
	close(c.closing)
	c.wg.Wait()
	for _, s := range sockets {
		s.setDisconnected(nil, ErrClientDisconnect)
	}
	c.disp.stop()
	return nil
}

// errIfClosed returns ErrClosed after Close.
func (c *Client) errIfClosed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	return nil
}

var _ = errors.Is
var _ = fmt.Sprintf
