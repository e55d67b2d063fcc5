package engineio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Session is one Engine.IO v4 client session, over a WebSocket or HTTP
// long-polling, possibly upgraded from polling to WebSocket (see
// Options.Transports).
//
// A session runs two goroutines whatever its transport: a reader, which
// handles what the server sends (it answers pings and hands messages to
// Options.OnMessage), and a writer, the only one that writes to the
// transport. On long-polling the reader is the GET loop and the writer the
// POST loop, so at most one GET and one POST are in flight. A polling
// session that may upgrade runs a third goroutine while it probes the
// WebSocket. A Session never reconnects: when it ends, Done is closed and
// Err says why.
type Session struct {
	opts      Options
	rawURL    string
	handshake Handshake
	start     time.Time // monotonic base for the ping deadline
	// pingDeadline is the time since start after which the link counts as
	// dead: pingInterval + pingTimeout after the last ping.
	pingDeadline atomic.Int64

	// jar keeps cookies (sticky-session cookies of a load balancer) for
	// every request of the session, so that an upgrade reaches the same
	// server as the polling requests.
	jar http.CookieJar
	// httpc sends the long-polling requests; nil when polling is not in
	// Options.Transports.
	httpc *http.Client
	// ctx ends with the session: it aborts a probe dial and polling
	// requests.
	ctx    context.Context
	cancel context.CancelFunc

	sendq chan outgoing
	pongq chan struct{}
	// up coordinates the upgrade; nil when the session does not try one.
	up *handover

	polling atomic.Bool // the current transport is long-polling
	deflate atomic.Bool // the current transport compresses (Compressed)
	closing atomic.Bool // Close was called: the session ends with ErrClosed

	mu         sync.Mutex
	transports []transport // to close when the session ends
	// farewell is the polling transport whose failure ended the session;
	// Close tells the server (see pollTransport.farewell).
	farewell *pollTransport

	done     chan struct{}
	doneOnce sync.Once
	err      error // set once, before done is closed
	wg       sync.WaitGroup
}

// Dial opens an Engine.IO session to rawURL (http, https, ws or wss) with
// the first transport of Options.Transports that connects, and waits for
// the server's open packet. Each transport tried gets its own
// Options.HandshakeTimeout; the context bounds the whole of Dial. End the
// session with Close.
//
// When every transport fails, the error is the one of the only transport
// tried, or all of them joined (errors.Is and errors.As see each).
func Dial(ctx context.Context, rawURL string, opts *Options) (*Session, error) {
	o := opts.withDefaults()
	if err := checkTransports(o.Transports); err != nil {
		return nil, err
	}
	if _, err := EndpointURL(rawURL, o.Path, o.Transports[0], "", o.Query); err != nil {
		return nil, err
	}
	s := newSession(rawURL, o)
	var errs []error
	for i, name := range o.Transports {
		op, err := s.open(ctx, name)
		if err == nil {
			s.run(op, o.Transports[i+1:])
			return s, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
		if ctx.Err() != nil {
			break
		}
	}
	s.cancel()
	s.release()
	if len(errs) == 1 {
		return nil, errors.Unwrap(errs[0])
	}
	return nil, errors.Join(errs...)
}

func newSession(rawURL string, o Options) *Session {
	jar, _ := cookiejar.New(nil) // never fails without options
	s := &Session{
		opts:   o,
		rawURL: rawURL,
		start:  time.Now(),
		jar:    jar,
		sendq:  make(chan outgoing, sendQueueLen),
		pongq:  make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	if slices.Contains(o.Transports, TransportPolling) {
		s.httpc = newHTTPClient(&o, jar)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// run starts the session on an opened transport; later lists the
// transports after it in Options.Transports, the upgrade candidates.
func (s *Session) run(op opened, later []string) {
	s.handshake = op.handshake
	s.armHeartbeat()
	s.polling.Store(op.t.name() == TransportPolling)
	s.deflate.Store(deflates(op.t))
	s.transports = []transport{op.t}
	if s.shouldUpgrade(op.t, later) {
		s.up = newHandover(op.t)
	}
	s.wg.Add(2)
	go s.readLoop(op.t, op.rest)
	go s.writeLoop(op.t)
	if s.up != nil {
		s.wg.Add(1)
		go s.upgrade()
	}
}

// shouldUpgrade reports whether a session opened on t probes a WebSocket.
func (s *Session) shouldUpgrade(t transport, later []string) bool {
	return t.name() == TransportPolling && !s.opts.NoUpgrade &&
		slices.Contains(later, TransportWebSocket) &&
		slices.Contains(s.handshake.Upgrades, TransportWebSocket)
}

// Handshake returns the server's open packet.
func (s *Session) Handshake() Handshake { return s.handshake }

// Transport returns the name of the transport in use: TransportWebSocket or
// TransportPolling. It changes from polling to websocket when the session
// upgrades; inside OnMessage it names the transport the message came on.
func (s *Session) Transport() string {
	if s.polling.Load() {
		return TransportPolling
	}
	return TransportWebSocket
}

// Compressed reports whether the transport in use is a WebSocket with
// permessage-deflate negotiated (see Options.Compression).
func (s *Session) Compressed() bool { return s.deflate.Load() }

// deflates reports whether t is a WebSocket that negotiated compression.
func deflates(t transport) bool {
	ws, ok := t.(*wsTransport)
	return ok && ws.deflate
}

// heartbeatWindow is how long the link may stay silent: pingInterval +
// pingTimeout.
func (s *Session) heartbeatWindow() time.Duration {
	return time.Duration(s.handshake.PingInterval+s.handshake.PingTimeout) * time.Millisecond
}

// armHeartbeat moves the ping deadline to a full window from now.
func (s *Session) armHeartbeat() {
	s.pingDeadline.Store(int64(time.Since(s.start) + s.heartbeatWindow()))
}

// deadline returns the ping deadline as a time.
func (s *Session) deadline() time.Time {
	return s.start.Add(time.Duration(s.pingDeadline.Load()))
}

// pingExpired reports whether the ping deadline has passed, which catches a
// dead link before its read deadline fires (a timer delayed by a busy or
// throttled board). It uses the monotonic clock: a Raspberry Pi has no
// real-time clock, and its wall clock jumps when NTP first sets it, which
// must not cut a healthy link.
func (s *Session) pingExpired() bool {
	return int64(time.Since(s.start)) > s.pingDeadline.Load()
}

// Send queues packets to be written together, in order, with nothing
// interleaved (a binary event and its attachments; on long-polling only a
// pong may come between them when they span two POST bodies). It blocks
// only while the send queue is full, until ctx ends or the session does.
//
// A packet larger than the server's maxPayload fails with
// ErrPayloadTooLarge and nothing is queued. On long-polling binary data
// counts as its base64 encoding, 4/3 of its size. The packets' data is
// read when it is written: the caller must not modify it after Send.
func (s *Session) Send(ctx context.Context, packets ...Packet) error {
	if err := s.writable(packets); err != nil {
		return err
	}
	select {
	case s.sendq <- outgoing{packets: packets}:
		return nil
	case <-s.done:
		return s.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TrySend is Send that never blocks: when the send queue is full it
// returns ErrQueueFull and queues nothing. It is for packets that are
// worthless when late (the reference client's volatile flag).
func (s *Session) TrySend(packets ...Packet) error {
	if err := s.writable(packets); err != nil {
		return err
	}
	select {
	case s.sendq <- outgoing{packets: packets}:
		return nil
	default:
		return ErrQueueFull
	}
}

// writable checks that packets may be queued: sizes, and a session that
// is still open (a ping deadline that has passed ends it).
func (s *Session) writable(packets []Packet) error {
	if err := s.checkSize(packets); err != nil {
		return err
	}
	if s.pingExpired() {
		s.end(ErrPingTimeout)
	}
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// checkSize fails for a packet the current transport cannot carry.
func (s *Session) checkSize(packets []Packet) error {
	polling := s.polling.Load()
	for _, p := range packets {
		size := int64(len(p.Data)) + 1
		if polling && p.Binary {
			size = int64(PayloadSize(p)) - 1
		}
		if size > s.handshake.MaxPayload {
			return &PayloadTooLargeError{Size: size, Limit: s.handshake.MaxPayload, Polling: polling}
		}
	}
	return nil
}

// PayloadTooLargeError is the error of Send and TrySend for a packet larger
// than the session's maxPayload. It matches ErrPayloadTooLarge. The limit
// belongs to the session: the next one (another handshake), or the same
// one after an upgrade (binary data no longer counted as base64), may
// accept the packet.
type PayloadTooLargeError struct {
	// Size is the packet's size as the transport counts it.
	Size int64
	// Limit is the session's maxPayload.
	Limit int64
	// Polling is true when the session was on long-polling.
	Polling bool
}

// Error returns the size and the limit.
func (e *PayloadTooLargeError) Error() string {
	return fmt.Sprintf("%v (%d bytes, limit %d)", ErrPayloadTooLarge, e.Size, e.Limit)
}

// Unwrap returns ErrPayloadTooLarge.
func (e *PayloadTooLargeError) Unwrap() error { return ErrPayloadTooLarge }

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns why the session ended (ErrClosed, ErrPingTimeout,
// ErrTransportClosed, ErrSessionUnknown, a *TransportError or the error
// OnMessage returned), or nil while it is open.
func (s *Session) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Close ends the session and waits for its goroutines to exit. Packets
// already queued by Send are written first, then the server is told
// (a close packet on long-polling, a close frame on WebSocket), for at most
// closeFlushTimeout in all. It is idempotent and safe to call from any
// goroutine except inside OnMessage (return an error from OnMessage
// instead) and OnUpgrade.
func (s *Session) Close() error {
	s.closing.Store(true)
	s.sayGoodbye(closeFlushTimeout)
	s.end(ErrClosed)
	s.wg.Wait()
	s.mu.Lock()
	p := s.farewell
	s.farewell = nil
	s.mu.Unlock()
	if p != nil {
		p.farewell(closeFlushTimeout)
	}
	s.release()
	return nil
}

// pollingFailure returns the polling transport among ts when err, the
// reason a polling session ended, is a failed request or a missed ping: the
// server may not know the session is over.
func pollingFailure(err error, polling bool, ts []transport) *pollTransport {
	var te *TransportError
	if !polling || !(errors.As(err, &te) || errors.Is(err, ErrPingTimeout)) {
		return nil
	}
	for _, t := range ts {
		if p, ok := t.(*pollTransport); ok {
			return p
		}
	}
	return nil
}

// sayGoodbye queues a goodbye and waits until the writer has written
// everything queued before it and said goodbye, the session ends, or
// timeout passes.
func (s *Session) sayGoodbye(timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	said := make(chan struct{})
	select {
	case s.sendq <- outgoing{goodbye: said}:
	case <-s.done:
		return
	case <-t.C:
		return
	}
	select {
	case <-said:
	case <-s.done:
	case <-t.C:
	}
}

// end records the first reason the session ended (ErrClosed once Close was
// called) and tears down every transport, which unblocks the goroutines.
func (s *Session) end(err error) {
	s.doneOnce.Do(func() {
		if s.closing.Load() {
			err = ErrClosed
		}
		s.err = err
		s.mu.Lock()
		close(s.done)
		ts := s.transports
		s.transports = nil
		s.farewell = pollingFailure(err, s.polling.Load(), ts)
		s.mu.Unlock()
		s.cancel()
		for _, t := range ts {
			t.close()
		}
	})
}

// track registers t to be closed when the session ends. It reports false,
// and closes t, if the session has already ended.
func (s *Session) track(t transport) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		t.close()
		return false
	default:
		s.transports = append(s.transports, t)
		return true
	}
}

// untrack closes t and forgets it.
func (s *Session) untrack(t transport) {
	s.mu.Lock()
	s.transports = slices.DeleteFunc(s.transports, func(x transport) bool { return x == t })
	s.mu.Unlock()
	t.close()
}

// release closes idle HTTP connections once no request can start any more.
func (s *Session) release() {
	if s.httpc != nil {
		s.httpc.CloseIdleConnections()
	}
}

// readLoop handles the packets that came with the open packet, then
// everything the server sends, until the session ends. On a polling session
// that upgrades it pauses after a GET and goes on reading the WebSocket.
func (s *Session) readLoop(t transport, packets []Packet) {
	defer s.wg.Done()
	up := s.up
	for {
		if err := s.handlePackets(packets); err != nil {
			s.end(err)
			return
		}
		clear(packets) // let the handled data go
		if up != nil && up.pauseRequested() {
			if t = up.pauseReader(s.done); t == nil {
				return
			}
			up = nil
		}
		var err error
		if packets, err = t.read(packets[:0], s.deadline()); err != nil {
			s.end(err)
			return
		}
	}
}

func (s *Session) handlePackets(packets []Packet) error {
	for _, p := range packets {
		if err := s.handlePacket(p); err != nil {
			return err
		}
	}
	return nil
}

func (s *Session) handlePacket(p Packet) error {
	if p.Binary {
		return s.opts.OnMessage(p.Data, true)
	}
	switch p.Type {
	case Ping:
		s.armHeartbeat()
		select {
		case s.pongq <- struct{}{}:
		default: // a pong is already due
		}
	case Message:
		return s.opts.OnMessage(p.Data, false)
	case Close:
		return ErrTransportClosed
	case Noop:
	default:
		return fmt.Errorf("%w: unexpected %s packet", ErrInvalidPacket, p.Type)
	}
	return nil
}
