package outbox

import (
	"context"
	"errors"
	"time"

	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/wire"
)

// limit is the most records in flight now: Options.Window, or the auto
// window.
func (r *drain) limit() int {
	if r.auto != nil {
		return r.auto.records()
	}
	return r.d.opts.Window
}

// room reports whether the window has room for another record.
func (r *drain) room() bool {
	return len(r.inflight) < r.limit() && !r.bytesFull
}

// fits reports whether a payload of n bytes fits the auto window's byte
// bound next to the records in flight (the first always does).
func (r *drain) fits(n int) bool {
	return r.auto == nil || len(r.inflight) == 0 || r.inBytes+n <= AutoWindowMaxBytes
}

// window puts the window's state in s.
func (r *drain) window(s *Stats) {
	s.InFlight, s.InFlightBytes, s.Window = len(r.inflight), int64(r.inBytes), r.limit()
	if r.auto != nil {
		s.RTT, s.MinRTT = r.auto.rtt, r.auto.base.min()
	}
}

// fill sends records until the window is full, the store has no more, or
// sending fails. Records it dead-letters (undecodable) take
// room in a peek but none in the window, so it peeks again while the
// window has room and the last peek was full: nothing else would wake
// Run for the records behind them.
func (r *drain) fill() {
	for !r.held && r.fatal == nil && r.room() {
		want := min(r.limit()-len(r.inflight), maxPeek)
		if got, full := r.fillOnce(want); got < want || full {
			return
		}
	}
}

// fillOnce peeks up to n records after the cursor and sends them; it
// returns how many the peek found, and whether it stopped at one that
// does not fit the auto window's byte bound.
func (r *drain) fillOnce(n int) (int, bool) {
	if !closed(r.d.sock.WhenConnected()) {
		r.hold(0, nil)
		return 0, false
	}
	if r.auto != nil {
		r.auto.session(r.d.sock.ID(), r.sends)
	}
	recs, err := r.d.st.PeekAfter(r.cursor, n)
	if err != nil {
		r.storeFailed("peek", err)
		return 0, false
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
				return 0, false
			}
			r.cursor = rec.Seq
			continue
		}
		if r.d.opts.Prepare != nil {
			if b, err = r.d.opts.Prepare(rec.Seq, b); err != nil {
				if !r.deadLetter(rec.Seq, "prepare: "+err.Error()) {
					return 0, false
				}
				r.cursor = rec.Seq
				continue
			}
		}
		if b.Payload == nil {
			b.Payload = []byte{} // an empty attachment, not null
		}
		if !r.fits(len(b.Payload)) {
			r.bytesFull = true // until an ack makes room
			return len(recs), true
		}
		h := wire.TelemetryHeader{DeviceID: r.d.opts.DeviceID, Seq: rec.Seq, Count: b.Count, ContentType: b.ContentType, Clock: b.Clock, Replaces: b.Replaces}
		if err := r.d.rate.wait(r.round, len(b.Payload)); err != nil {
			return 0, false // the round ended (disconnection, shutdown): sent again later
		}
		sentAt := time.Now()
		fctx, cancel := context.WithTimeout(r.round, r.d.opts.AckTimeout)
		args := r.d.event.EncodeArgs(socketio.Pair[wire.TelemetryHeader, []byte]{First: h, Second: b.Payload})
		pa, err := r.d.sock.EmitWithAckAsync(fctx, r.d.event.Name(), args...)
		if err != nil {
			cancel()
			if errors.Is(err, socketio.ErrPayloadTooLarge) {
				// Too large for this session, not for good: hold the
				// queue here, in order, until a session takes it.
				r.tooLarge(rec.Seq, err)
				return 0, false
			}
			r.sendFailed(err)
			return 0, false
		}
		if h := r.d.Stats().Held; h != nil && rec.Seq >= h.Seq {
			r.unheld(rec.Seq == h.Seq)
		}
		r.cursor = rec.Seq
		resend := rec.Seq <= r.d.highestSent
		r.d.highestSent = max(r.d.highestSent, rec.Seq)
		r.inflight = append(r.inflight, flight{seq: rec.Seq, pa: pa, cancel: cancel,
			n: r.sends, bytes: len(b.Payload), sent: sentAt, inflight: len(r.inflight) + 1})
		r.inBytes += len(b.Payload)
		r.sends++
		r.d.count(func(s *Stats) {
			s.Sent++
			s.SentBytes += uint64(len(b.Payload))
			if resend {
				s.Resends++
			}
			r.window(s)
		})
	}
	if len(recs) < n {
		// The end of the queue: failed records after it are gone, and so
		// is a held record not met on the way.
		r.dropFailedBetween(r.cursor, ^uint64(0))
		r.unheld(false)
	}
	return len(recs), false
}
