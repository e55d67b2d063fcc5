package engineio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// closeFrameTimeout bounds the write of the WebSocket close frame that Close
// sends.
const closeFrameTimeout = time.Second

// probePing and probePong are the upgrade probe: a ping and a pong with
// data "probe".
var (
	probePing = Packet{Type: Ping, Data: []byte("probe")}
	probePong = []byte("3probe")
)

// wsTransport is a WebSocket connection: one Engine.IO packet per frame,
// text packets as text frames, binary packets as binary frames without a
// type byte.
type wsTransport struct {
	conn         *websocket.Conn
	writeTimeout time.Duration
	wbuf         []byte // the writer's encoding buffer
	// deflate is true when permessage-deflate was negotiated: messages of
	// CompressMinSize bytes or more are then written compressed.
	deflate bool
	// limit is the largest message read (readLimit). The connection's
	// own read limit counts the bytes of the frames, which a compressed
	// message may exceed a thousandfold once inflated: readMessage
	// bounds the inflated size too.
	limit int64
}

// dialWebSocket opens a WebSocket to the endpoint, for a new session (sid
// empty) or to upgrade an existing one.
func (s *Session) dialWebSocket(ctx context.Context, sid string) (*wsTransport, error) {
	u, err := EndpointURL(s.rawURL, s.opts.Path, TransportWebSocket, sid, s.opts.Query)
	if err != nil {
		return nil, err
	}
	// gorilla/websocket honours only the context's deadline during the
	// TLS and HTTP upgrade handshakes, not its cancellation: on a link
	// that went silent, Close would wait for HandshakeTimeout. So the
	// connection is kept and given a past deadline when ctx ends.
	var cut connCutter
	defer cut.stop()
	d := websocket.Dialer{
		Proxy:             s.opts.Proxy,
		TLSClientConfig:   s.opts.TLSConfig,
		HandshakeTimeout:  s.opts.HandshakeTimeout,
		NetDialContext:    cut.wrap(ctx, s.opts.NetDialContext),
		Jar:               s.jar,
		EnableCompression: s.opts.Compression,
	}
	conn, resp, err := d.DialContext(ctx, u.String(), s.opts.Header)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return nil, dialError(err, resp)
	}
	if !cut.stop() {
		conn.Close() // ctx ended as the handshake completed
		return nil, &TransportError{Op: "dial", Err: ctx.Err()}
	}
	// The limit holds from the first frame on, the open packet included.
	limit := readLimit(&s.opts)
	conn.SetReadLimit(limit)
	return &wsTransport{conn: conn, writeTimeout: s.opts.WriteTimeout, deflate: negotiatedDeflate(resp), limit: limit}, nil
}

// negotiatedDeflate reports whether the server's upgrade response accepted
// permessage-deflate. (The dialer refuses a response that accepts it with
// other parameters than it offered, and never offers it unless
// Options.Compression is set.)
func negotiatedDeflate(resp *http.Response) bool {
	if resp == nil {
		return false
	}
	for _, v := range resp.Header.Values("Sec-WebSocket-Extensions") {
		for ext := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(ext, ";")
			if strings.EqualFold(strings.TrimSpace(name), "permessage-deflate") {
				return true
			}
		}
	}
	return false
}

// connCutter sets a past deadline on the connections a dial opened once
// the dial's context ends, to unblock reads the dialer does not bound by
// the context itself.
type connCutter struct {
	mu    sync.Mutex
	stops []func() bool
}

// wrap returns a dial function (dial, or a net.Dialer when nil) that
// registers each connection it opens.
func (c *connCutter) wrap(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return func(dctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
		c.mu.Lock()
		c.stops = append(c.stops, stop)
		c.mu.Unlock()
		return conn, nil
	}
}

// stop disarms the cutter; it reports false if ctx already ended and a
// deadline may have been set.
func (c *connCutter) stop() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ok := true
	for _, stop := range c.stops {
		if !stop() {
			ok = false
		}
	}
	c.stops = nil
	return ok
}

func dialError(err error, resp *http.Response) error {
	if errors.Is(err, websocket.ErrBadHandshake) && resp != nil {
		defer resp.Body.Close()
		return newHandshakeError(resp)
	}
	return &TransportError{Op: "dial", Err: err}
}

// openWebSocket starts a WebSocket-only session: dial, then the open
// packet.
func (s *Session) openWebSocket(ctx context.Context) (opened, error) {
	t, err := s.dialWebSocket(ctx, "")
	if err != nil {
		return opened{}, err
	}
	h, err := t.readOpen(ctx)
	if err != nil {
		t.close()
		return opened{}, err
	}
	return opened{t: t, handshake: h}, nil
}

// readOpen reads the server's open packet before ctx ends.
func (t *wsTransport) readOpen(ctx context.Context) (Handshake, error) {
	typ, frame, err := t.readFirst(ctx)
	if err != nil {
		return Handshake{}, &TransportError{Op: "handshake", Err: err}
	}
	p, err := decodeFrame(typ, frame)
	if err != nil {
		return Handshake{}, err
	}
	return parseOpen(p)
}

// probe sends 2probe and expects 3probe before ctx ends.
func (t *wsTransport) probe(ctx context.Context) error {
	deadline, _ := ctx.Deadline()
	t.conn.SetWriteDeadline(deadline)
	if err := t.conn.WriteMessage(websocket.TextMessage, EncodeText(nil, probePing)); err != nil {
		return err
	}
	typ, frame, err := t.readFirst(ctx)
	if err != nil {
		return err
	}
	if typ != websocket.TextMessage || !bytes.Equal(frame, probePong) {
		return fmt.Errorf("%w: expected 3probe, got %q", ErrInvalidPacket, frame)
	}
	return nil
}

// readFirst reads one frame before ctx ends.
func (t *wsTransport) readFirst(ctx context.Context) (int, []byte, error) {
	deadline, _ := ctx.Deadline()
	t.conn.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { t.conn.SetReadDeadline(time.Now()) })
	typ, frame, err := t.readMessage()
	if !stop() || (err != nil && ctx.Err() != nil) {
		// The context ended: a late deadline change may still be on its
		// way, so the connection is not usable any more.
		return 0, nil, ctx.Err()
	}
	return typ, frame, err
}

func (t *wsTransport) name() string { return TransportWebSocket }

func (t *wsTransport) read(dst []Packet, deadline time.Time) ([]Packet, error) {
	t.conn.SetReadDeadline(deadline)
	typ, frame, err := t.readMessage()
	if err != nil {
		return dst, wsReadError(err)
	}
	p, err := decodeFrame(typ, frame)
	if err != nil {
		return dst, err
	}
	return append(dst, p), nil
}

// readMessage reads one message, at most t.limit bytes once inflated
// (websocket.ErrReadLimit beyond).
func (t *wsTransport) readMessage() (int, []byte, error) {
	typ, r, err := t.conn.NextReader()
	if err != nil {
		return typ, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(r, t.limit+1))
	if err == nil && int64(len(data)) > t.limit {
		err = websocket.ErrReadLimit
	}
	return typ, data, err
}

// decodeFrame decodes one WebSocket frame.
func decodeFrame(typ int, frame []byte) (Packet, error) {
	if typ == websocket.BinaryMessage {
		return DecodeBinary(frame), nil
	}
	return DecodeText(frame)
}

// wsReadError maps a read failure to the reason the session ended.
func wsReadError(err error) error {
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

// write writes each packet as one frame.
func (t *wsTransport) write(packets []Packet) (int, error) {
	for i, p := range packets {
		if err := t.writePacket(p); err != nil {
			return i, &TransportError{Op: "write", Err: err}
		}
	}
	return len(packets), nil
}

func (t *wsTransport) writePacket(p Packet) error {
	t.conn.SetWriteDeadline(time.Now().Add(t.writeTimeout))
	if p.Binary {
		t.compress(len(p.Data))
		return t.conn.WriteMessage(websocket.BinaryMessage, p.Data)
	}
	t.wbuf = EncodeText(t.wbuf[:0], p)
	t.compress(len(t.wbuf))
	return t.conn.WriteMessage(websocket.TextMessage, t.wbuf)
}

// compress sets whether the next message, of n bytes, goes compressed.
func (t *wsTransport) compress(n int) {
	if t.deflate {
		t.conn.EnableWriteCompression(n >= CompressMinSize)
	}
}

// goodbye sends a normal close frame. (The reference client sends no close
// packet on WebSocket: the Node server ignores one there.)
func (t *wsTransport) goodbye() {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	t.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeFrameTimeout))
}

func (t *wsTransport) close() { t.conn.Close() }
