package outbox

import (
	"context"
	"errors"
	"time"

	"github.com/sioagent/sioagent/internal/backoff"
	"github.com/sioagent/sioagent/protocol/socketio"
)

// retryJitter spreads each retry delay by up to ± this fraction, so that
// devices refused by one overloaded server do not come back in step.
const retryJitter = 0.2

// HeldRecord describes the record that holds the queue back because the
// current session cannot carry it: a packet of it is larger than the
// server's maxPayload. The limit is a property of one session, which a
// server redeployed with another limit, or the same session after the
// upgrade from long-polling (where binary data counts as base64, 4/3 of
// its size) to WebSocket, may raise. So the record is kept and nothing
// after it is sent (delivery stays in seq order); sending is tried again
// after the retry delay, which grows as after any failure, and at once
// when the socket connects in a new session.
type HeldRecord struct {
	// Seq is the record's seq.
	Seq uint64 `json:"seq"`
	// Size is the size of its largest packet as the transport counts it,
	// in bytes; Limit is the session's maxPayload. Both are zero when the
	// error did not say.
	Size  int64 `json:"size"`
	Limit int64 `json:"limit"`
	// Polling is true when the session was on long-polling.
	Polling bool `json:"polling,omitempty"`
	// Since is when the record was first held; Tries counts the sends
	// refused since.
	Since time.Time `json:"since"`
	Tries int       `json:"tries"`
}

// tooLarge holds the queue at seq, which the session refused with err (an
// error matching socketio.ErrPayloadTooLarge).
func (r *drain) tooLarge(seq uint64, err error) {
	h := HeldRecord{Seq: seq, Since: time.Now(), Tries: 1}
	var pe *socketio.PayloadTooLargeError
	if errors.As(err, &pe) {
		h.Size, h.Limit, h.Polling = pe.Size, pe.Limit, pe.Polling
	}
	prev := r.d.Stats().Held
	if prev != nil && prev.Seq == seq {
		h.Since, h.Tries = prev.Since, prev.Tries+1
	}
	r.heldSID = r.d.sock.ID()
	delay := r.nextDelay()
	if prev == nil || prev.Seq != seq || prev.Limit != h.Limit || prev.Polling != h.Polling {
		r.d.log.Warn("outbox: record larger than the server accepts in this session; holding the queue until a session allows it",
			"seq", seq, "size", h.Size, "limit", h.Limit, "polling", h.Polling, "retry_in", delay.Round(time.Millisecond))
	} else {
		r.d.log.Debug("outbox: record still too large for this session", "seq", seq, "size", h.Size, "limit", h.Limit, "tries", h.Tries, "retry_in", delay.Round(time.Millisecond))
	}
	r.d.count(func(s *Stats) { s.Held = &h })
	r.hold(delay, err)
}

// unheld forgets the held record once it was sent, or is gone.
func (r *drain) unheld(sent bool) {
	h := r.d.Stats().Held
	if h == nil {
		return
	}
	if sent {
		r.d.log.Info("outbox: held record sent; the queue goes on", "seq", h.Seq, "held_for", time.Since(h.Since).Round(time.Millisecond), "tries", h.Tries)
	} else {
		r.d.log.Info("outbox: held record is gone from the queue", "seq", h.Seq)
	}
	r.heldSID = ""
	r.d.count(func(s *Stats) { s.Held = nil })
}

// newSession reports whether the queue is held for a record too large and
// the socket is now connected in another session than the one that
// refused it, whose limit may be larger: it need not wait for the retry
// delay.
func (r *drain) newSession() bool {
	if r.heldSID == "" {
		return false
	}
	id := r.d.sock.ID()
	return id != "" && id != r.heldSID
}

// hold stops the sending until no record is in flight, delay has passed
// and the socket is connected; err (if any) is recorded as the last error.
func (r *drain) hold(delay time.Duration, err error) {
	if err != nil {
		r.d.fail(err)
	}
	if until := time.Now().Add(delay); !r.held || until.After(r.until) {
		r.until = until
	}
	r.held = true
}

// nextDelay returns the retry delay to wait now, with jitter, and doubles
// the next one. Failures in one round (before the sending resumes) share
// one delay.
func (r *drain) nextDelay() time.Duration {
	if r.held && !r.until.IsZero() && time.Until(r.until) > 0 {
		return time.Until(r.until)
	}
	return r.retry.Next()
}

// newRetryBackoff returns the retry delays of o: from RetryDelay doubling
// to RetryDelayMax, ±retryJitter, never past RetryDelayMax.
func newRetryBackoff(o *Options) backoff.Backoff {
	return backoff.Backoff{Base: o.RetryDelay, Max: o.RetryDelayMax, Jitter: retryJitter}
}

// abandonRound cancels the emits in flight: after a disconnection, none of
// them can be acked any more, and an emit waiting in the socket's send
// buffer must not go out ahead of the older records sent again.
func (r *drain) abandonRound(reason error) {
	if r.round.Err() == nil {
		r.d.log.Info("outbox: socket disconnected; the unacknowledged records will be sent again after reconnection",
			"in_flight", len(r.inflight)+1, "err", reason)
	}
	r.abandon()
}

// resume starts sending again from the oldest record in the store.
func (r *drain) resume() {
	r.held, r.until, r.cursor = false, time.Time{}, 0
	r.heldSID = ""
	r.abandon()
	r.round, r.abandon = context.WithCancel(r.ctx)
	r.d.log.Debug("outbox: sending again from the oldest record")
}
