package socketio

import "context"

// ListenerTableSizes returns how many event names have handlers on s and
// how many catch-all handlers it has, for the tests of the tables' growth.
func ListenerTableSizes(s *Socket) (names, catchAll int) { return s.ls.sizes() }

// ConnectAfterClose is Connect without its check of Close, as a Connect
// that passed it just before Close ran goes on.
func ConnectAfterClose(s *Socket, ctx context.Context) error {
	s.mu.Lock()
	w := s.waiter
	s.activateLocked()
	s.mu.Unlock()
	s.activated()
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		return ctx.Err()
	}
}
