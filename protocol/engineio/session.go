package engineio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Session is one Engine.IO v4 session over a WebSocket. It owns one reader
// goroutine (which answers pings and hands messages to Options.OnMessage)
// and one writer goroutine (the only one that writes to the connection).
// A Session never reconnects: when it ends, Done is closed and Err says why.
type Session struct {
	opts      Options
	conn      *websocket.Conn
	handshake Handshake
	start     time.Time // monotonic base for the ping deadline
	// pingDeadline is the time since start after which the link counts as
	// dead: pingInterval + pingTimeout after the last ping.
	pingDeadline atomic.Int64

	sendq chan outgoing
	pongq chan struct{}

	done     chan struct{}
	doneOnce sync.Once
	err      error // set once, before done is closed
	wg       sync.WaitGroup
}

// outgoing is one item of the send queue: packets written together, or a
// flush marker closed once everything queued before it is written.
type outgoing struct {
	packets []Packet
	flushed chan struct{}
}

// Dial opens a WebSocket-only Engine.IO session to rawURL (http, https, ws or
// wss) and waits for the server's open packet. The context bounds the dial
// and the handshake only; end the session with Close.
func Dial(ctx context.Context, rawURL string, opts *Options) (*Session, error) {
	o := opts.withDefaults()
	u, err := EndpointURL(rawURL, o.Path, "websocket", "", o.Query)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.HandshakeTimeout)
	defer cancel()
	d := websocket.Dialer{
		Proxy:            o.Proxy,
		TLSClientConfig:  o.TLSConfig,
		HandshakeTimeout: o.HandshakeTimeout,
		NetDialContext:   o.NetDialContext,
	}
	conn, resp, err := d.DialContext(ctx, u.String(), o.Header)
	if err != nil {
		return nil, dialError(err, resp)
	}
	s := &Session{
		opts:  o,
		conn:  conn,
		start: time.Now(),
		sendq: make(chan outgoing, sendQueueLen),
		pongq: make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	if err := s.readHandshake(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	s.wg.Add(2)
	go s.readLoop()
	go s.writeLoop()
	return s, nil
}

func dialError(err error, resp *http.Response) error {
	if errors.Is(err, websocket.ErrBadHandshake) && resp != nil {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return &HandshakeError{StatusCode: resp.StatusCode, Body: string(bytes.TrimSpace(body))}
	}
	return &TransportError{Op: "dial", Err: err}
}

// readHandshake reads the open packet and arms the heartbeat deadline.
func (s *Session) readHandshake(ctx context.Context) error {
	deadline, _ := ctx.Deadline()
	s.conn.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { s.conn.SetReadDeadline(time.Now()) })
	defer stop()
	typ, frame, err := s.conn.ReadMessage()
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return &TransportError{Op: "handshake", Err: err}
	}
	if typ != websocket.TextMessage {
		return fmt.Errorf("%w: expected open packet, got a binary frame", ErrInvalidPacket)
	}
	p, err := DecodeText(frame)
	if err != nil {
		return err
	}
	if p.Type != Open {
		return fmt.Errorf("%w: expected open packet, got %s", ErrInvalidPacket, p.Type)
	}
	if s.handshake, err = ParseHandshake(p.Data); err != nil {
		return err
	}
	if s.handshake.MaxPayload == 0 {
		s.handshake.MaxPayload = DefaultMaxPayload
	}
	limit := s.opts.ReadLimit
	if limit <= 0 {
		limit = s.handshake.MaxPayload
	}
	s.conn.SetReadLimit(limit)
	s.armHeartbeat()
	return nil
}

// Handshake returns the server's open packet.
func (s *Session) Handshake() Handshake { return s.handshake }

// heartbeatWindow is how long the link may stay silent: pingInterval +
// pingTimeout.
func (s *Session) heartbeatWindow() time.Duration {
	return time.Duration(s.handshake.PingInterval+s.handshake.PingTimeout) * time.Millisecond
}

// armHeartbeat moves the ping deadline to a full window from now.
func (s *Session) armHeartbeat() {
	w := s.heartbeatWindow()
	s.pingDeadline.Store(int64(time.Since(s.start) + w))
	s.conn.SetReadDeadline(time.Now().Add(w))
}

// pingExpired reports whether the ping deadline has passed, which catches a
// dead link even when timers were delayed (a board that was suspended).
func (s *Session) pingExpired() bool {
	return int64(time.Since(s.start)) > s.pingDeadline.Load()
}

// Send queues packets to be written together, in order, with nothing
// interleaved (a binary event and its attachments). It blocks only while
// the send queue is full, until ctx ends or the session does.
func (s *Session) Send(ctx context.Context, packets ...Packet) error {
	for _, p := range packets {
		if int64(len(p.Data))+1 > s.handshake.MaxPayload {
			return fmt.Errorf("%w (%d bytes, limit %d)", ErrPayloadTooLarge, len(p.Data)+1, s.handshake.MaxPayload)
		}
	}
	if s.pingExpired() {
		s.end(ErrPingTimeout)
	}
	select {
	case <-s.done:
		return s.err
	default:
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

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns why the session ended (ErrClosed, ErrPingTimeout,
// ErrTransportClosed, a *TransportError or the error OnMessage returned), or
// nil while it is open.
func (s *Session) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Close ends the session and waits for its goroutines to exit. Packets
// already queued by Send are written first, for at most closeFlushTimeout.
// It is idempotent and safe to call from any goroutine except inside
// OnMessage (return an error from OnMessage instead).
func (s *Session) Close() error {
	s.flush(closeFlushTimeout)
	s.end(ErrClosed)
	s.wg.Wait()
	return nil
}

// flush waits until the writer has written everything queued so far, the
// session ends, or timeout passes.
func (s *Session) flush(timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	flushed := make(chan struct{})
	select {
	case s.sendq <- outgoing{flushed: flushed}:
	case <-s.done:
		return
	case <-t.C:
		return
	}
	select {
	case <-flushed:
	case <-s.done:
	case <-t.C:
	}
}

// end records the first reason the session ended and tears down the
// connection, which unblocks the reader and the writer.
func (s *Session) end(err error) {
	s.doneOnce.Do(func() {
		s.err = err
		close(s.done)
		if errors.Is(err, ErrClosed) {
			msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
			s.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		}
		s.conn.Close()
	})
}

func (s *Session) readLoop() {
	defer s.wg.Done()
	for {
		typ, frame, err := s.conn.ReadMessage()
		if err != nil {
			s.end(s.readError(err))
			return
		}
		if err := s.handleFrame(typ, frame); err != nil {
			s.end(err)
			return
		}
	}
}

// readError maps a read failure to the reason the session ended.
func (s *Session) readError(err error) error {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return ErrPingTimeout
	case websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ErrTransportClosed
	default:
		return &TransportError{Op: "read", Err: err}
	}
}

func (s *Session) handleFrame(typ int, frame []byte) error {
	if typ == websocket.BinaryMessage {
		return s.opts.OnMessage(frame, true)
	}
	p, err := DecodeText(frame)
	if err != nil {
		return err
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

func (s *Session) writeLoop() {
	defer s.wg.Done()
	var buf []byte
	for {
		var err error
		select {
		case <-s.done:
			return
		case <-s.pongq:
			buf, err = s.write(buf, Packet{Type: Pong})
		case o := <-s.sendq:
			for _, p := range o.packets {
				if buf, err = s.write(buf, p); err != nil {
					break
				}
			}
			if o.flushed != nil {
				close(o.flushed)
			}
		}
		if err != nil {
			s.end(&TransportError{Op: "write", Err: err})
			return
		}
	}
}

// write writes one packet as one WebSocket frame, reusing buf for text.
func (s *Session) write(buf []byte, p Packet) ([]byte, error) {
	s.conn.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
	if p.Binary {
		return buf, s.conn.WriteMessage(websocket.BinaryMessage, p.Data)
	}
	buf = EncodeText(buf[:0], p)
	return buf, s.conn.WriteMessage(websocket.TextMessage, buf)
}
