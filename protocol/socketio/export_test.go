package socketio

// ListenerTableSizes returns how many event names have handlers on s and
// how many catch-all handlers it has, for the tests of the tables' growth.
func ListenerTableSizes(s *Socket) (names, catchAll int) { return s.ls.sizes() }
