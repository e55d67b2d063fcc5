package socketio

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// StateKind is where a Socket is in its connection lifecycle (see State).
type StateKind int

// The states of a socket, those of the reference client's lifecycle.
const (
	// StateDisconnected: the socket is not active: before Connect, after
	// Disconnect or Client.Close, a server DISCONNECT or refusal without
	// SocketOptions.Rejoin, a failed attempt with Options.NoReconnect, or
	// once reconnection gave up (Err says why).
	StateDisconnected StateKind = iota
	// StateConnecting: the socket is active and an Engine.IO session is
	// opening or its CONNECT is in flight. Attempt is 0 for a first
	// connection, else the number of the reconnection attempt (the
	// client's, or SocketOptions.Rejoin's).
	StateConnecting
	// StateConnected: the namespace is connected and its send buffer
	// flushed, so emits go straight out: exactly while WhenConnected is
	// closed. Recovered says whether connection state recovery restored
	// the session.
	StateConnected
	// StateReconnecting: the socket is active and waits Delay before
	// attempt Attempt: the client's reconnection backoff after a lost
	// link, or SocketOptions.Rejoin's after the server let it go.
	StateReconnecting
)

var stateNames = [...]string{"disconnected", "connecting", "connected", "reconnecting"}

// String returns a short lower-case name, like "reconnecting".
func (k StateKind) String() string {
	if k >= 0 && int(k) < len(stateNames) {
		return stateNames[k]
	}
	return fmt.Sprintf("StateKind(%d)", int(k))
}

// State is a snapshot of a socket's connection state, taken by
// Socket.State. Only the fields its Kind documents are set, and Err.
type State struct {
	Kind StateKind
	// Attempt: StateConnecting and StateReconnecting, the attempt's
	// number (0 for a first connection).
	Attempt int
	// Delay: StateReconnecting, the wait before the attempt.
	Delay time.Duration
	// Recovered: StateConnected, whether connection state recovery
	// restored the previous session.
	Recovered bool
	// Err is why the socket is not connected: the reason of the last
	// disconnection, refusal or failed attempt (see Reason); nil while
	// connected and before the first of them.
	Err error
	// Changed is closed at the next change of state, so that a snapshot
	// and the wait for what follows it cannot race. It is closed once per
	// change; the State taken after it may be later than the next one
	// when several changes came in between (Options.OnStatus has every
	// step). After Client.Close the state is final (StateDisconnected,
	// Err matching ErrClosed) and its Changed is never closed.
	Changed <-chan struct{}
}

// String describes the state for logs, like
// "reconnecting: attempt 3 in 2.1s (transport close)".
func (st State) String() string {
	switch st.Kind {
	case StateConnecting:
		if st.Attempt == 0 {
			return "connecting"
		}
		return fmt.Sprintf("connecting: attempt %d", st.Attempt)
	case StateConnected:
		return fmt.Sprintf("connected (recovered=%v)", st.Recovered)
	case StateReconnecting:
		return fmt.Sprintf("reconnecting: attempt %d in %v (%s)", st.Attempt, st.Delay.Round(time.Millisecond), Reason(st.Err))
	default:
		if st.Err == nil {
			return st.Kind.String()
		}
		return fmt.Sprintf("%s: %s", st.Kind, Reason(st.Err))
	}
}

// State returns the socket's connection state, with the channel its next
// change closes:
//
//	for {
//		st := sock.State()
//		show(st)
//		if errors.Is(st.Err, socketio.ErrClosed) {
//			return // final
//		}
//		<-st.Changed
//	}
//
// The state changes where Options.OnStatus is told, and where the
// application acts: Connect makes a disconnected socket StateConnecting
// (Attempt 0, or that of the rejoin it supersedes); Disconnect and
// Client.Close make any socket StateDisconnected, without a Status when it
// was not connected. A socket that becomes active while the client
// reconnects takes the client's StateReconnecting or StateConnecting.
// Statuses of the client apply to every active socket that is not
// connected, the others to their socket:
//
//	Status                     State
//	StatusConnecting (n > 0)   StateConnecting, Attempt n (also when the delay before it ends);
//	                           with Attempt 0 no change
//	StatusOpen                 no change
//	StatusOpenFailed           no change: the error is the Err of StatusReconnecting;
//	                           with Options.NoReconnect StateDisconnected, Err the failure
//	StatusConnected            StateConnected (Recovered) once the send buffer is flushed,
//	                           right after: when WhenConnected closes and Connect returns
//	StatusDisconnected         link lost: StateConnecting, Attempt 0, Err the reason, until
//	                           StatusReconnecting (or StateDisconnected with NoReconnect);
//	                           else StateDisconnected, Err ErrClientDisconnect,
//	                           ErrServerDisconnect, ...
//	StatusConnectError         StateDisconnected, Err the *ConnectError
//	StatusRejoining            StateReconnecting (Attempt, Delay, Err) straight from the
//	                           server's DISCONNECT or refusal: with SocketOptions.Rejoin
//	                           these do not make the socket StateDisconnected
//	StatusReconnecting         StateReconnecting (Attempt, Delay, Err)
//	StatusReconnectFailed      StateDisconnected, Err matching ErrReconnectFailed
//
// Connected reports the namespace connection, which comes before the
// flush: it may be true while the state is still StateConnecting.
func (s *Socket) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.get()
}

// stateNotifier is a socket's State and the channels that follow it; the
// Socket's mu guards it, and set is the only way to change it.
type stateNotifier struct {
	cur     State         // its Changed is not used
	changed chan struct{} // closed at the next change
	up      chan struct{} // closed while cur.Kind == StateConnected: WhenConnected
}

func newStateNotifier() stateNotifier {
	return stateNotifier{changed: make(chan struct{}), up: make(chan struct{})}
}

// get returns the current State with its Changed channel.
func (h *stateNotifier) get() State {
	st := h.cur
	st.Changed = h.changed
	return st
}

// set makes st the current state, unless it is the same: it closes and
// renews the changed channel, closes up when entering StateConnected and
// renews it when leaving (the old channel stays closed).
func (h *stateNotifier) set(st State) {
	st.Changed = nil
	if sameState(h.cur, st) {
		return
	}
	switch {
	case h.cur.Kind == StateConnected && st.Kind != StateConnected:
		h.up = make(chan struct{})
	case h.cur.Kind != StateConnected && st.Kind == StateConnected:
		close(h.up)
	}
	h.cur = st
	close(h.changed)
	h.changed = make(chan struct{})
}

// sameState compares two states but for their Changed channels. Errors
// are the same when each matches the other: errors.Is compares only
// comparable values, where == could panic, so two errors of a type that
// cannot be compared always differ.
func sameState(a, b State) bool {
	if a.Kind != b.Kind || a.Attempt != b.Attempt || a.Delay != b.Delay || a.Recovered != b.Recovered {
		return false
	}
	if a.Err == nil || b.Err == nil {
		return a.Err == nil && b.Err == nil
	}
	return errors.Is(a.Err, b.Err) && errors.Is(b.Err, a.Err)
}

// link is the part of the sockets' states the manager sets for all of
// them while it reconnects the Engine.IO session: StateReconnecting
// (Attempt, Delay, Err) during a backoff delay, StateConnecting (Attempt)
// during an attempt. Attempt 0 means no reconnection is under way.
type link struct {
	// mu orders the manager's changes with the activation of sockets; it
	// is taken before a Socket's mu, and never while the Client's is held.
	mu sync.Mutex
	st State
}

// setLink records the manager's reconnection state st and applies it to
// every active socket that is not connected.
func (c *Client) setLink(st State) {
	c.link.mu.Lock()
	defer c.link.mu.Unlock()
	c.link.st = st
	for _, s := range c.allSockets() {
		s.mu.Lock()
		s.followLinkLocked(st)
		s.mu.Unlock()
	}
}

// followLink gives a socket that just became active the state of the
// reconnection under way, if any.
func (s *Socket) followLink() {
	s.c.link.mu.Lock()
	defer s.c.link.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.followLinkLocked(s.c.link.st)
}

// followLinkLocked applies the manager's state l to the socket if it is
// active and not connected; s.mu must be held. StatusConnecting carries
// no error: the socket keeps the reason it is not connected.
func (s *Socket) followLinkLocked(l State) {
	if l.Attempt == 0 || !s.active || s.state != stateConnecting {
		return
	}
	if l.Err == nil {
		l.Err = s.st.cur.Err
	}
	s.st.set(l)
}
