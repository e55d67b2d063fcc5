package engineio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
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
	// ErrSessionUnknown means the server answered a long-polling request
	// with HTTP 400 {"code":1,"message":"Session ID unknown"}: it has
	// forgotten the session (it restarted, timed the session out, or a load
	// balancer without sticky sessions sent the request to another node).
	// The session is over; reconnecting with a new one can help.
	ErrSessionUnknown = errors.New("engineio: session ID unknown")
	// ErrQueueFull is returned by TrySend when the send queue is full.
	ErrQueueFull = errors.New("engineio: send queue full")
	// ErrBodyTooLarge is wrapped in the *TransportError that ends a
	// long-polling session whose GET response body is larger than the
	// client allows (PollBodyFactor times Options.ReadLimit).
	ErrBodyTooLarge = errors.New("engineio: polling response body over the read limit")
	// ErrPayloadTooLarge is returned by Send for a packet larger than the
	// server's maxPayload; the server would drop the connection for it.
	ErrPayloadTooLarge = errors.New("engineio: packet larger than maxPayload")
)

// TransportError is an I/O or protocol failure of the underlying transport
// (the reference client's "transport error"). Retrying with a new session may
// help.
type TransportError struct {
	// Op says what the session was doing: "dial", "handshake", "read" or
	// "write". On long-polling, "read" is a GET and "write" a POST.
	Op  string
	Err error
}

// Error implements error.
func (e *TransportError) Error() string {
	return fmt.Sprintf("engineio: transport error: %s: %v", e.Op, e.Err)
}

// Unwrap returns the underlying error.
func (e *TransportError) Unwrap() error { return e.Err }

// ErrorCode is an Engine.IO server error code, sent as the JSON body
// {"code":N,"message":"..."} of an HTTP 400 or 403 answer.
type ErrorCode int

// Engine.IO v4 server error codes.
const (
	// NoCode means the answer carried no Engine.IO error code (a proxy or
	// another server answered, or the body was not the JSON above).
	NoCode                         ErrorCode = -1
	CodeTransportUnknown           ErrorCode = 0
	CodeSessionIDUnknown           ErrorCode = 1
	CodeBadHandshakeMethod         ErrorCode = 2
	CodeBadRequest                 ErrorCode = 3
	CodeForbidden                  ErrorCode = 4
	CodeUnsupportedProtocolVersion ErrorCode = 5
)

// HandshakeError is returned by Dial when the server refused the connection
// with an HTTP status (wrong path, unsupported protocol version, a middleware
// of engine.io that said no...).
type HandshakeError struct {
	StatusCode int
	// Body is the start of the response body, which for Engine.IO errors is
	// JSON like {"code":3,"message":"Bad request"}.
	Body string
	// Code and Message are decoded from Body when it is an Engine.IO
	// error; Code is NoCode otherwise.
	Code    ErrorCode
	Message string
}

// Error implements error.
func (e *HandshakeError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("engineio: handshake refused: HTTP %d", e.StatusCode)
	}
	return fmt.Sprintf("engineio: handshake refused: HTTP %d: %s", e.StatusCode, e.Body)
}

// HTTPError is an HTTP answer other than 200 to a long-polling request after
// the handshake. The session reports it wrapped in a *TransportError, except
// for "Session ID unknown", which is ErrSessionUnknown.
type HTTPError struct {
	StatusCode int
	// Code and Message come from the Engine.IO JSON error body; Code is
	// NoCode when there was none, and Message is then the start of the body.
	Code    ErrorCode
	Message string
}

// Error implements error.
func (e *HTTPError) Error() string {
	switch {
	case e.Code != NoCode:
		return fmt.Sprintf("HTTP %d: %s (code %d)", e.StatusCode, e.Message, e.Code)
	case e.Message != "":
		return fmt.Sprintf("HTTP %d: %s", e.StatusCode, e.Message)
	default:
		return fmt.Sprintf("HTTP %d", e.StatusCode)
	}
}

// serverError is the JSON body of an Engine.IO error answer.
type serverError struct {
	Code    *int   `json:"code"`
	Message string `json:"message"`
}

// readErrorBody reads the start of a refused request's body and decodes it
// as an Engine.IO error when it is one.
func readErrorBody(resp *http.Response) (body string, code ErrorCode, message string) {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	raw = bytes.TrimSpace(raw)
	var se serverError
	if json.Unmarshal(raw, &se) != nil || se.Code == nil {
		return string(raw), NoCode, ""
	}
	return string(raw), ErrorCode(*se.Code), se.Message
}

// newHandshakeError builds the error for a refused handshake request.
func newHandshakeError(resp *http.Response) *HandshakeError {
	body, code, msg := readErrorBody(resp)
	return &HandshakeError{StatusCode: resp.StatusCode, Body: body, Code: code, Message: msg}
}

// requestError maps a refused long-polling request (op "read" or "write")
// to the reason the session ends.
func requestError(op string, resp *http.Response) error {
	body, code, msg := readErrorBody(resp)
	if resp.StatusCode == http.StatusBadRequest && code == CodeSessionIDUnknown {
		return ErrSessionUnknown
	}
	if code == NoCode {
		msg = body
	}
	return &TransportError{Op: op, Err: &HTTPError{StatusCode: resp.StatusCode, Code: code, Message: msg}}
}
