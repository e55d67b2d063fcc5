package socketio

import (
	"fmt"
	"time"
)

// StatusKind says what a Status reports.
type StatusKind int

// Lifecycle events delivered to Options.OnStatus.
const (
	// StatusConnecting: an attempt to open an Engine.IO session starts.
	// Attempt is 0 for the first connection, then the reconnect attempt.
	StatusConnecting StatusKind = iota + 1
	// StatusOpen: the Engine.IO session is open (Transport says which).
	StatusOpen
	// StatusOpenFailed: the attempt failed (Err).
	StatusOpenFailed
	// StatusConnected: a namespace is connected (Namespace, Recovered).
	StatusConnected
	// StatusConnectError: the server refused a namespace (Namespace, Err is
	// a *ConnectError). The socket stays disconnected.
	StatusConnectError
	// StatusDisconnected: a connected namespace disconnected (Namespace, Err
	// is the reason; see Reason).
	StatusDisconnected
	// StatusReconnecting: the next attempt comes after Delay (Attempt is its
	// number in this outage, from 1; Err why the last connection or attempt
	// ended). Delays grow from one outage to the next while connections do
	// not stay up for Options.StableAfter.
	StatusReconnecting
	// StatusReconnectFailed: ReconnectAttempts attempts in a row failed; the
	// client gave up and disconnected its sockets (Err is the last error).
	StatusReconnectFailed
	// StatusRejoining: a socket with SocketOptions.Rejoin connects again
	// after Delay (Namespace; Attempt from 1 since it was last connected;
	// Err is ErrServerDisconnect or the *ConnectError).
	StatusRejoining
)

var statusNames = [...]string{"", "connecting", "open", "open failed", "connected", "connect error", "disconnected", "reconnecting", "reconnect failed", "rejoining"}

// String returns a short lower-case name, like "reconnecting".
func (k StatusKind) String() string {
	if k > 0 && int(k) < len(statusNames) {
		return statusNames[k]
	}
	return fmt.Sprintf("StatusKind(%d)", int(k))
}

// Status is one lifecycle event of a Client or of one of its sockets. Only
// the fields its Kind documents are set.
type Status struct {
	Kind      StatusKind
	Namespace string
	Transport string
	Recovered bool
	Attempt   int
	Delay     time.Duration
	Err       error
}

// String describes the status for logs, like
// "reconnecting: attempt 3 in 2.1s (transport close)".
func (s Status) String() string {
	switch s.Kind {
	case StatusConnecting:
		if s.Attempt == 0 {
			return "connecting"
		}
		return fmt.Sprintf("connecting: attempt %d", s.Attempt)
	case StatusOpen:
		return "open: " + s.Transport
	case StatusConnected:
		return fmt.Sprintf("connected %s (recovered=%v)", s.Namespace, s.Recovered)
	case StatusConnectError, StatusDisconnected:
		return fmt.Sprintf("%s %s: %s", s.Kind, s.Namespace, Reason(s.Err))
	case StatusReconnecting:
		return fmt.Sprintf("reconnecting: attempt %d in %v (%s)", s.Attempt, s.Delay.Round(time.Millisecond), Reason(s.Err))
	case StatusRejoining:
		return fmt.Sprintf("rejoining %s: attempt %d in %v (%s)", s.Namespace, s.Attempt, s.Delay.Round(time.Millisecond), Reason(s.Err))
	default:
		return fmt.Sprintf("%s: %v", s.Kind, s.Err)
	}
}
