package engineio

import (
	"context"
	"fmt"
	"time"
)

// transport is one connection of a session to the server: a WebSocket
// (websocket.go) or an HTTP long-polling channel (polling.go).
//
// The session drives a transport from two goroutines: the reader calls
// read, the writer calls write and goodbye. close may be called from any
// goroutine, at any time, more than once; it aborts blocked reads and
// writes.
type transport interface {
	// name returns TransportWebSocket or TransportPolling.
	name() string
	// read blocks until the server sends something and appends the
	// packets to dst. It fails with ErrPingTimeout once deadline (the ping
	// deadline) passes.
	read(dst []Packet, deadline time.Time) ([]Packet, error)
	// write sends packets[:n], in order, for some n >= 1 (all of them on
	// WebSocket; a long-polling POST takes as many as fit in maxPayload).
	write(packets []Packet) (n int, err error)
	// goodbye tells the server that the client is leaving, best effort.
	goodbye()
	// close aborts I/O in progress and releases the connection.
	close()
}

// opened is a transport that has completed the handshake.
type opened struct {
	t         transport
	handshake Handshake
	// rest holds packets that arrived with the open packet (long-polling
	// only), to be handled before anything else.
	rest []Packet
}

// open connects with one transport and reads the server's open packet.
func (s *Session) open(ctx context.Context, name string) (opened, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.HandshakeTimeout)
	defer cancel()
	if name == TransportPolling {
		return s.openPolling(ctx)
	}
	return s.openWebSocket(ctx)
}

// parseOpen checks that p is the open packet and decodes its handshake,
// filling in the defaults.
func parseOpen(p Packet) (Handshake, error) {
	if p.Binary || p.Type != Open {
		return Handshake{}, fmt.Errorf("%w: expected open packet, got %s", ErrInvalidPacket, describe(p))
	}
	h, err := ParseHandshake(p.Data)
	if err != nil {
		return Handshake{}, err
	}
	if h.MaxPayload == 0 {
		h.MaxPayload = DefaultMaxPayload
	}
	return h, nil
}

// describe names a packet's kind for error messages.
func describe(p Packet) string {
	if p.Binary {
		return "binary data"
	}
	return p.Type.String() + " packet"
}

// readLimit is the largest packet the session accepts from the server:
// the client's own Options.ReadLimit, or DefaultReadLimit. The server's
// handshake never raises it (its maxPayload bounds what the server
// accepts, and a hostile or broken server could announce any number).
func readLimit(o *Options) int64 {
	if o.ReadLimit > 0 {
		return o.ReadLimit
	}
	return DefaultReadLimit
}
