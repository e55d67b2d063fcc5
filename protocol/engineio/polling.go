package engineio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Limits of the long-polling transport's response bodies, derived from
// the client's read limit (Options.ReadLimit), never from the server's
// handshake.
const (
	// PollBodyFactor is how many packets of the read limit one GET
	// response body may hold: the server flushes everything it has queued
	// at once, and a binary packet travels base64-encoded (4/3 of its
	// size), so one packet of the read limit always fits. A larger body
	// ends the session with ErrBodyTooLarge.
	PollBodyFactor = 2
	// MinPollBodyLimit is the smallest GET body limit, for a tiny
	// ReadLimit: it leaves room for the open packet of the handshake.
	MinPollBodyLimit = 64 << 10
)

// Other settings of the long-polling transport.
const (
	// pollIdleTimeout is how long an idle keep-alive connection between
	// polls is kept.
	pollIdleTimeout = 90 * time.Second
	// postContentType is what the reference client sends. The Node server
	// rejects application/octet-stream bodies from Engine.IO v4 clients.
	postContentType = "text/plain;charset=UTF-8"
	// timestampParam is the cache-buster query parameter of the reference
	// client.
	timestampParam = "t"
)

// newHTTPClient builds the session's HTTP client for long-polling from the
// options: proxy, dialer, TLS and a cookie jar shared with the WebSocket
// dialer.
func newHTTPClient(o *Options, jar http.CookieJar) *http.Client {
	dial := o.NetDialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return &http.Client{
		Jar: jar,
		Transport: &http.Transport{
			Proxy:               o.Proxy,
			DialContext:         dial,
			TLSClientConfig:     o.TLSConfig,
			TLSHandshakeTimeout: o.HandshakeTimeout,
			IdleConnTimeout:     pollIdleTimeout,
		},
	}
}

// pollTransport is HTTP long-polling: a GET, held by the server until it
// has something to send, receives; a POST sends. Bodies are payloads:
// packets joined by RecordSeparator, binary ones as "b" + base64. The reader
// alone calls read and the writer alone write, so at most one GET and one
// POST are in flight.
type pollTransport struct {
	client *http.Client
	header http.Header
	// url is the endpoint with its query, sid included after the
	// handshake, and without the cache buster.
	url          string
	writeTimeout time.Duration
	maxPayload   int   // the largest POST body
	readLimit    int64 // the largest packet: the client's, never the server's
	bodyLimit    int64 // the largest GET body, handshake included
	ctx          context.Context
	cancel       context.CancelFunc
	requests     atomic.Uint64 // numbers the cache busters
}

// openPolling starts a session with a long-polling handshake: a GET whose
// answer starts with the open packet.
func (s *Session) openPolling(ctx context.Context) (opened, error) {
	p := &pollTransport{
		client:       s.httpc,
		header:       s.opts.Header,
		writeTimeout: s.opts.WriteTimeout,
		readLimit:    readLimit(&s.opts),
	}
	p.bodyLimit = pollBodyLimit(p.readLimit)
	p.ctx, p.cancel = context.WithCancel(s.ctx)
	op, err := p.open(ctx, s)
	if err != nil {
		p.close()
	}
	return op, err
}

// open makes the handshake and sets the transport up for the session.
func (p *pollTransport) open(ctx context.Context, s *Session) (opened, error) {
	if err := p.setURL(s, ""); err != nil {
		return opened{}, err
	}
	packets, err := p.handshake(ctx)
	if err != nil {
		return opened{}, err
	}
	h, err := parseOpen(packets[0])
	if err != nil {
		return opened{}, err
	}
	if err := p.setURL(s, h.SID); err != nil {
		return opened{}, err
	}
	p.maxPayload = int(min(h.MaxPayload, math.MaxInt))
	return opened{t: p, handshake: h, rest: packets[1:]}, nil
}

// setURL points the transport at the session's endpoint.
func (p *pollTransport) setURL(s *Session, sid string) error {
	u, err := EndpointURL(s.rawURL, s.opts.Path, TransportPolling, sid, s.opts.Query)
	if err != nil {
		return err
	}
	p.url = u.String()
	return nil
}

// pollBodyLimit is the largest GET body for a read limit of limit per
// packet: PollBodyFactor packets, at least MinPollBodyLimit.
func pollBodyLimit(limit int64) int64 {
	if limit > math.MaxInt64/PollBodyFactor {
		return math.MaxInt64 - 1
	}
	return max(MinPollBodyLimit, limit*PollBodyFactor)
}

// handshake sends the first GET and decodes its payload.
func (p *pollTransport) handshake(ctx context.Context) ([]Packet, error) {
	resp, err := p.do(ctx, http.MethodGet, nil)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, &TransportError{Op: "dial", Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, newHandshakeError(resp)
	}
	body, err := readBody(resp, p.bodyLimit)
	if err != nil {
		return nil, &TransportError{Op: "handshake", Err: err}
	}
	return DecodePayload(body)
}

// do sends one request with the session's headers and a fresh cache
// buster.
func (p *pollTransport) do(ctx context.Context, method string, body io.Reader) (*http.Response, error) {
	n := p.requests.Add(1)
	stamp := strconv.FormatInt(time.Now().UnixMilli(), 36) + strconv.FormatUint(n, 36)
	req, err := http.NewRequestWithContext(ctx, method, p.url+"&"+timestampParam+"="+stamp, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range p.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", postContentType)
	}
	return p.client.Do(req)
}

// poll sends one GET, never twice: once a poll has reached the server, the
// server may have written packets into its response, and if that response
// is lost a second GET would silently skip them. net/http would re-send a
// failed GET on a kept-alive connection on its own; the noReplay body stops
// that. The failure ends the session instead, and farewell makes the
// server end it too, so that the client's reconnection can recover it.
func (p *pollTransport) poll(ctx context.Context) (*http.Response, error) {
	return p.do(ctx, http.MethodGet, noReplay{})
}

// farewell tells the server, on a request of its own, that this session is
// over after its polls failed. Otherwise the server would keep the session
// until its heartbeat gives up (up to pingInterval + pingTimeout), and a
// client that reconnects sooner could not recover it; told, it closes the
// session at once ("transport close"), which it keeps for recovery. Best
// effort, bounded by timeout.
func (p *pollTransport) farewell(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	body := EncodePayload(nil, []Packet{{Type: Close}})
	resp, err := p.do(ctx, http.MethodPost, bytes.NewReader(body))
	if err != nil {
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
}

// noReplay is the empty body of a polling GET: a body that cannot be
// rewound makes the request non-replayable for net/http (see poll).
type noReplay struct{}

func (noReplay) Read([]byte) (int, error) { return 0, io.EOF }
func (noReplay) Close() error             { return nil }

// readBody reads a response body of at most limit bytes; a larger one is
// ErrBodyTooLarge, refused before reading when its Content-Length says so,
// and otherwise once limit+1 bytes of it have been read.
func readBody(resp *http.Response, limit int64) ([]byte, error) {
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%w (%d bytes, limit %d)", ErrBodyTooLarge, resp.ContentLength, limit)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w (more than %d bytes)", ErrBodyTooLarge, limit)
	}
	return body, nil
}

func (p *pollTransport) name() string { return TransportPolling }

// read sends one GET, bounded by the ping deadline: the server answers it
// with its next ping at the latest, and when that does not come in time the
// link counts as dead.
func (p *pollTransport) read(dst []Packet, deadline time.Time) ([]Packet, error) {
	ctx, cancel := context.WithDeadline(p.ctx, deadline)
	defer cancel()
	resp, err := p.poll(ctx)
	if err != nil {
		return dst, p.failure("read", ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return dst, requestError("read", resp)
	}
	body, err := readBody(resp, p.bodyLimit)
	if err != nil {
		return dst, p.failure("read", ctx, err)
	}
	n := len(dst)
	if dst, err = appendPayload(dst, body); err != nil {
		return dst, err
	}
	for _, pk := range dst[n:] {
		if int64(len(pk.Data)) > p.readLimit {
			return dst, fmt.Errorf("%w: %d-byte packet, read limit %d", ErrInvalidPacket, len(pk.Data), p.readLimit)
		}
	}
	return dst, nil
}

// failure maps a failed request to the reason the session ends: a GET
// that outlived the ping deadline is a ping timeout.
func (p *pollTransport) failure(op string, ctx context.Context, err error) error {
	if op == "read" && p.ctx.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ErrPingTimeout
	}
	return &TransportError{Op: op, Err: err}
}

// write POSTs the longest prefix of packets that fits in maxPayload (at
// least one packet; Send refuses larger ones).
func (p *pollTransport) write(packets []Packet) (int, error) {
	n, size := fitPayload(packets, p.maxPayload)
	body := EncodePayload(make([]byte, 0, size), packets[:n])
	ctx, cancel := context.WithTimeout(p.ctx, p.writeTimeout)
	defer cancel()
	resp, err := p.do(ctx, http.MethodPost, bytes.NewReader(body))
	if err != nil {
		return 0, p.failure("write", ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, requestError("write", resp)
	}
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody)); err != nil {
		return 0, p.failure("write", ctx, err)
	}
	return n, nil
}

// fitPayload returns how many of packets (at least one) fit in a body of
// limit bytes, and the size of that body.
func fitPayload(packets []Packet, limit int) (n, size int) {
	n, size = 1, PayloadSize(packets[0])
	for n < len(packets) && size+PayloadSize(packets[n]) <= limit+1 {
		size += PayloadSize(packets[n])
		n++
	}
	return n, size - 1
}

// goodbye POSTs a close packet.
func (p *pollTransport) goodbye() {
	p.write([]Packet{{Type: Close}})
}

// close aborts the requests in flight and closes idle connections.
func (p *pollTransport) close() {
	p.cancel()
	p.client.CloseIdleConnections()
}
