package engineio

import (
	"errors"
	"fmt"
)

// Reasons a session ends, as returned by Session.Err. They match the
// disconnect reasons of the reference client ("ping timeout",
// "transport close", "transport error") so that a caller can decide whether
// to reconnect.
var (
	// ErrClosed is returned after Session.Close was called.
	ErrClosed = errors.New("engineio: session closed")
	// ErrPingTimeout means no ping arrived within pingInterval + pingTimeout:
	// the link is dead or half-open.
	ErrPingTimeout = errors.New("engineio: ping timeout")
	// ErrTransportClosed means the server closed the transport (a close
	// packet, a WebSocket close frame or end of stream).
	ErrTransportClosed = errors.New("engineio: transport close")
	// ErrPayloadTooLarge is returned by Send for a packet larger than the
	// server's maxPayload; the server would drop the connection for it.
	ErrPayloadTooLarge = errors.New("engineio: packet larger than maxPayload")
)

// TransportError is an I/O or protocol failure of the underlying transport
// (the reference client's "transport error"). Retrying with a new session may
// help.
type TransportError struct {
	// Op says what the session was doing: "dial", "handshake", "read" or
	// "write".
	Op  string
	Err error
}

// Error implements error.
func (e *TransportError) Error() string {
	return fmt.Sprintf("engineio: transport error: %s: %v", e.Op, e.Err)
}

// Unwrap returns the underlying error.
func (e *TransportError) Unwrap() error { return e.Err }

// HandshakeError is returned by Dial when the server refused the connection
// with an HTTP status (wrong path, unsupported protocol version, a middleware
// of engine.io that said no...).
type HandshakeError struct {
	StatusCode int
	// Body is the start of the response body, which for Engine.IO errors is
	// JSON like {"code":3,"message":"Bad request"}.
	Body string
}

// Error implements error.
func (e *HandshakeError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("engineio: handshake refused: HTTP %d", e.StatusCode)
	}
	return fmt.Sprintf("engineio: handshake refused: HTTP %d: %s", e.StatusCode, e.Body)
}
