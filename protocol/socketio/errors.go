package socketio

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sioagent/sioagent/protocol/engineio"
)

// Errors returned by the client. Reasons a socket disconnected (delivered to
// SocketOptions.OnDisconnect and wrapped by ErrDisconnected) are either one
// of these or an engine reason: engineio.ErrPingTimeout,
// engineio.ErrTransportClosed or a *engineio.TransportError.
var (
	// ErrClosed is returned once Client.Close has been called.
	ErrClosed = errors.New("socketio: client closed")
	// ErrNotConnected is returned by Emit on a socket that is not connected.
	ErrNotConnected = errors.New("socketio: socket not connected")
	// ErrDisconnected fails pending acks when the socket disconnects before
	// the reply arrived; the wrapped reason says why. The server may or may
	// not have received the event.
	ErrDisconnected = errors.New("socketio: socket has been disconnected")
	// ErrAckTimeout is returned by EmitWithAck when the context ends first;
	// the error also matches the context's own error. A reply that arrives
	// later is ignored.
	ErrAckTimeout = errors.New("socketio: ack timed out")
	// ErrServerDisconnect is the reason when the server disconnected the
	// socket ("io server disconnect"). The socket is not reconnected.
	ErrServerDisconnect = errors.New("socketio: io server disconnect")
	// ErrClientDisconnect is the reason when Socket.Disconnect or
	// Client.Close was called ("io client disconnect"); after Close the
	// reason matches ErrClosed too.
	ErrClientDisconnect = errors.New("socketio: io client disconnect")
	// ErrReservedEvent is returned when emitting an event name the protocol
	// reserves (connect, connect_error, disconnect, disconnecting,
	// newListener, removeListener).
	ErrReservedEvent = errors.New("socketio: reserved event name")
	// ErrNoAckRequested is returned by Event.Ack when the sender did not ask
	// for an acknowledgement.
	ErrNoAckRequested = errors.New("socketio: no ack requested")
	// ErrAlreadyAcked is returned by Event.Ack after the first call; only the
	// first reply is sent.
	ErrAlreadyAcked = errors.New("socketio: already acknowledged")
)

// ErrPayloadTooLarge is engineio.ErrPayloadTooLarge, so that users of this
// package need not import engineio: an emit whose packet is larger than the
// session's maxPayload fails with an error matching it, a
// *PayloadTooLargeError that says the sizes. Another session (another
// server, or WebSocket after long-polling) may take the packet.
var ErrPayloadTooLarge = engineio.ErrPayloadTooLarge

// PayloadTooLargeError is engineio.PayloadTooLargeError: the size of the
// packet an emit refused and the session's limit.
type PayloadTooLargeError = engineio.PayloadTooLargeError

// ConnectError is the server's refusal of a namespace (a CONNECT_ERROR
// packet): a middleware called next(err), or the namespace does not exist.
// Retrying with the same auth will not help; the socket stays disconnected
// until the application calls Connect again.
type ConnectError struct {
	Namespace string
	// Message is the server's err.message.
	Message string
	// Data is the server's err.data as raw JSON, or nil.
	Data json.RawMessage
}

// Error implements error.
func (e *ConnectError) Error() string {
	if len(e.Data) == 0 {
		return fmt.Sprintf("socketio: namespace %s refused: %s", e.Namespace, e.Message)
	}
	return fmt.Sprintf("socketio: namespace %s refused: %s (data %s)", e.Namespace, e.Message, e.Data)
}

// parseConnectError builds a ConnectError from a CONNECT_ERROR payload,
// which is an object {"message", "data"} or, from old servers, a string.
func parseConnectError(p *Packet) *ConnectError {
	e := &ConnectError{Namespace: p.Namespace}
	var obj struct {
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	if json.Unmarshal(p.Data, &obj) == nil {
		e.Message, e.Data = obj.Message, obj.Data
	} else {
		_ = json.Unmarshal(p.Data, &e.Message)
	}
	return e
}

// Reason returns the reference client's name for why a socket disconnected:
// "io server disconnect", "io client disconnect", "ping timeout",
// "transport close", "transport error", "parse error", or the error text.
func Reason(err error) string {
	var te *engineio.TransportError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrServerDisconnect):
		return "io server disconnect"
	case errors.Is(err, ErrClientDisconnect), errors.Is(err, ErrClosed), errors.Is(err, engineio.ErrClosed):
		return "io client disconnect"
	case errors.Is(err, engineio.ErrPingTimeout):
		return "ping timeout"
	case errors.Is(err, engineio.ErrTransportClosed), errors.Is(err, engineio.ErrSessionUnknown):
		return "transport close"
	case errors.As(err, &te):
		return "transport error"
	case errors.Is(err, ErrInvalidPacket), errors.Is(err, engineio.ErrInvalidPacket):
		return "parse error"
	default:
		return err.Error()
	}
}
