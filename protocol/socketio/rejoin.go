package socketio

import (
	"time"

	"github.com/sioagent/sioagent/internal/backoff"
)

// rejoiner is the state of SocketOptions.Rejoin; the Socket's mu guards it.
type rejoiner struct {
	delays *backoff.Backoff // reset when the socket connects
	due    *Status          // the rejoin deactivate prepared, for scheduleRejoin to start
	timer  *time.Timer      // the pending rejoin, or nil
	gen    uint64           // tells a stopped timer's late call from the pending one
}

// stopLocked cancels a prepared or pending rejoin and reports whether there
// was one; s.mu must be held.
func (r *rejoiner) stopLocked() bool {
	pending := r.due != nil || r.timer != nil
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.due = nil
	r.gen++ // a call already on its way does nothing
	return pending
}

// prepareRejoinLocked prepares a rejoin of a socket the server let go
// (disconnected or refused) for reason, if SocketOptions.Rejoin is set and
// the client is not closing: it takes the next
// delay and returns the StatusRejoining that scheduleRejoin reports once
// it started the timer. s.mu must be held. Client.Close deactivates the
// sockets after its manager has exited, so a rejoin prepared before is
// stopped there.
func (s *Socket) prepareRejoinLocked(reason error) (Status, bool) {
	if !s.opts.Rejoin {
		return Status{}, false
	}
	select {
	case <-s.c.done:
		return Status{}, false // Close
	default:
	}
	d := s.rejoin.delays.Next()
	s.rejoin.due = &Status{Kind: StatusRejoining, Namespace: s.namespace, Attempt: s.rejoin.delays.Attempts(), Delay: d, Err: reason}
	return *s.rejoin.due, true
}

// scheduleRejoin starts the rejoin deactivate prepared when the server let
// the socket go for reason, unless Connect, Disconnect or Client.Close
// came meanwhile, and reports it after the socket's other statuses. The
// socket is StateReconnecting from the moment it was deactivated.
func (s *Socket) scheduleRejoin(reason error) {
	s.mu.Lock()
	due := s.rejoin.due
	s.rejoin.due = nil
	if due == nil {
		s.mu.Unlock()
		return
	}
	gen := s.rejoin.gen
	s.rejoin.timer = time.AfterFunc(due.Delay, func() { s.rejoinNow(gen) })
	s.mu.Unlock()
	s.c.log.Debug("socketio: rejoining", "namespace", s.namespace, "in", due.Delay, "reason", Reason(reason))
	s.c.status(*due)
}

// rejoinNow runs when the rejoin delay of generation gen has passed: it
// makes the socket active, as Connect does, without waiting.
func (s *Socket) rejoinNow(gen uint64) {
	if s.c.closedNow() {
		return
	}
	s.mu.Lock()
	if s.rejoin.gen != gen {
		s.mu.Unlock()
		return // stopped meanwhile
	}
	s.activateLocked() // clears the timer; the state keeps the attempt
	s.mu.Unlock()
	s.activated()
}
