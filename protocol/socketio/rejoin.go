package socketio

import (
	"time"

	"github.com/sioagent/sioagent/internal/backoff"
)

// rejoiner is the state of SocketOptions.Rejoin; the Socket's mu guards it.
type rejoiner struct {
	delays *backoff.Backoff // reset when the socket connects
	timer  *time.Timer      // the pending rejoin, or nil
	gen    uint64           // tells a stopped timer's late call from the pending one
}

// stopLocked cancels a pending rejoin; s.mu must be held.
func (r *rejoiner) stopLocked() {
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.gen++ // a call already on its way does nothing
}

// scheduleRejoin connects the socket again after the rejoin delay, if
// SocketOptions.Rejoin is set and nothing else connects it meanwhile;
// reason is why the server let it go.
func (s *Socket) scheduleRejoin(reason error) {
	if !s.opts.Rejoin || s.c.closedNow() {
		return
	}
	s.mu.Lock()
	if s.active || s.rejoin.timer != nil {
		s.mu.Unlock()
		return // Connect was called again, or a rejoin is pending
	}
	d := s.rejoin.delays.Next()
	attempt := s.rejoin.delays.Attempts()
	s.rejoin.gen++
	gen := s.rejoin.gen
	s.rejoin.timer = time.AfterFunc(d, func() { s.rejoinNow(gen) })
	s.mu.Unlock()
	s.c.log.Debug("socketio: rejoining", "namespace", s.namespace, "in", d, "reason", Reason(reason))
	s.c.status(Status{Kind: StatusRejoining, Namespace: s.namespace, Attempt: attempt, Delay: d, Err: reason})
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
	s.rejoin.timer = nil
	s.activateLocked()
	s.mu.Unlock()
	s.activated()
}
