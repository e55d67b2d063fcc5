package socketio

import "context"

// WhenConnected returns a channel that is closed once the socket is
// connected and its send buffer flushed: from then until it disconnects,
// emits go straight out (it is the moment Connect returns). While the
// socket is not connected the channel is open; each disconnection gives
// the socket a new one, so take the channel again after a disconnection
// rather than keeping an old one, which stays closed. It never blocks and
// does not make the socket active: Connect (or SocketOptions.Rejoin) does.
// It is closed exactly while State is StateConnected.
//
//	select {
//	case <-sock.WhenConnected():
//		// connected; an emit that now fails with ErrNotConnected or
//		// ErrDisconnected lost the connection meanwhile
//	case <-ctx.Done():
//	}
func (s *Socket) WhenConnected() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.up
}

// WaitConnected blocks until the socket is connected (WhenConnected is
// closed) and then returns nil; or until ctx ends (ctx.Err()) or the
// client is closed (ErrClosed). Unlike Connect it does not make the socket
// active, and a refusal or a server DISCONNECT does not end the wait: it
// waits for whoever connects the socket (Connect, the client's
// reconnection, SocketOptions.Rejoin).
func (s *Socket) WaitConnected(ctx context.Context) error {
	up := s.WhenConnected()
	if err := s.c.errIfClosed(); err != nil {
		return err
	}
	select {
	case <-up:
		return nil
	default:
	}
	select {
	case <-up:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.c.done: // the manager exits only once Close was called
		return ErrClosed
	}
}
