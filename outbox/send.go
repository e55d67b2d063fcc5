package outbox

import (
	"context"
	"errors"

	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/wire"
)

// fill sends records until the window is full, the store has no more, or
// sending fails. Records it dead-letters (undecodable) take
// room in a peek but none in the window, so it peeks again while the
// window has room and the last peek was full: nothing else would wake
// Run for the records behind them.
func (r *drain) fill() {
	for !r.held && r.fatal == nil && len(r.inflight) < r.d.opts.Window {
		want := r.d.opts.Window - len(r.inflight)
		if got := r.fillOnce(want); got < want {
			return
		}
	}
}

// fillOnce peeks up to n records after the cursor and sends them; it
// returns how many the peek found.
func (r *drain) fillOnce(n int) int {
	if !closed(r.d.sock.WhenConnected()) {
		r.hold(0, nil)
		return 0
	}
	recs, err := r.d.st.PeekAfter(r.cursor, n)
	if err != nil {
		r.storeFailed("peek", err)
		return 0
	}
	if r.cursor == 0 && len(recs) > 0 {
		for seq := range r.d.attempts {
			if seq < recs[0].Seq {
				delete(r.d.attempts, seq) // gone: dropped by a bound
			}
		}
		for seq := range r.order.acked {
			if seq < recs[0].Seq {
				delete(r.order.acked, seq) // gone: dropped by a bound
			}
		}
	}
	for _, rec := range recs {
		// Records that failed and are gone since (dropped by a bound)
		// no longer hold back the ones after them.
		r.dropFailedBetween(r.cursor, rec.Seq)
		if r.order.acked[rec.Seq] {
			r.cursor = rec.Seq // acked, held for deletion in order
			continue
		}
		var b Batch
		if err := b.UnmarshalBinary(rec.Data); err != nil {
			if !r.deadLetter(rec.Seq, err.Error()) {
				return 0
			}
			r.cursor = rec.Seq
			continue
		}
		if r.d.opts.Prepare != nil {
			if b, err = r.d.opts.Prepare(rec.Seq, b); err != nil {
				if !r.deadLetter(rec.Seq, "prepare: "+err.Error()) {
					return 0
				}
				r.cursor = rec.Seq
				continue
			}
		}
		if b.Payload == nil {
			b.Payload = []byte{} // an empty attachment, not null
		}
		h := wire.TelemetryHeader{DeviceID: r.d.opts.DeviceID, Seq: rec.Seq, Count: b.Count, ContentType: b.ContentType, Clock: b.Clock, Replaces: b.Replaces}
		if err := r.d.rate.wait(r.round, len(b.Payload)); err != nil {
			return 0 // the round ended (disconnection, shutdown): sent again later
		}
		fctx, cancel := context.WithTimeout(r.round, r.d.opts.AckTimeout)
		args := r.d.event.EncodeArgs(socketio.Pair[wire.TelemetryHeader, []byte]{First: h, Second: b.Payload})
		pa, err := r.d.sock.EmitWithAckAsync(fctx, r.d.event.Name(), args...)
		if err != nil {
			cancel()
			if errors.Is(err, socketio.ErrPayloadTooLarge) {
				// Too large for this session, not for good: hold the
				// queue here, in order, until a session takes it.
				r.tooLarge(rec.Seq, err)
				return 0
			}
			r.sendFailed(err)
			return 0
		}
		if h := r.d.Stats().Held; h != nil && rec.Seq >= h.Seq {
			r.unheld(rec.Seq == h.Seq)
		}
		r.cursor = rec.Seq
		resend := rec.Seq <= r.d.highestSent
		r.d.highestSent = max(r.d.highestSent, rec.Seq)
		r.inflight = append(r.inflight, flight{seq: rec.Seq, pa: pa, cancel: cancel})
		r.d.count(func(s *Stats) {
			s.Sent++
			if resend {
				s.Resends++
			}
			s.InFlight = len(r.inflight)
		})
	}
	if len(recs) < n {
		// The end of the queue: failed records after it are gone, and so
		// is a held record not met on the way.
		r.dropFailedBetween(r.cursor, ^uint64(0))
		r.unheld(false)
	}
	return len(recs)
}
