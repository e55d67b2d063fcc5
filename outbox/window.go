package outbox

import "time"

// WindowAuto is the default Options.Window: the drainer sizes the window
// itself, from the round trips of the acks, between AutoWindowMin and
// AutoWindowMaxRecords records and at most AutoWindowMaxBytes of payload
// in flight. docs/OUTBOX.md ("The window") describes how.
const WindowAuto = 0

// Bounds of the auto window (Options.Window = WindowAuto).
const (
	// AutoWindowInitial is the window at the start of each session (a
	// connection with a new socket id): the fixed default of earlier
	// agents. 32 batches of 2 KB cross a 100 kbit/s link in about 5 s,
	// within DefaultAckTimeout, before any round trip was measured.
	AutoWindowInitial = 32
	// AutoWindowMin is the smallest window: one record on the wire while
	// the ack of the other comes back.
	AutoWindowMin = 2
	// AutoWindowMaxRecords bounds the records in flight: each holds its
	// pending ack (a goroutine and a timer) until it is acked or times
	// out, whatever the server does. It is more than the 375 batches of
	// 2,000 bytes that fill 10 Mbit/s at a 600 ms round trip.
	AutoWindowMaxRecords = 1024
	// AutoWindowMaxBytes bounds the payload bytes in flight (4 MiB): 3.4 s
	// of a 10 Mbit/s link, 2.7 times its bandwidth-delay product at a
	// 600 ms round trip. A single record larger than it is still sent,
	// alone.
	AutoWindowMaxBytes = 4 << 20
)

// Tuning of the auto window. The queue is the round trip of the acks
// above the smallest one seen (the base): what waits in buffers on the
// way, the device's own included. Its bound is the base, at least
// autoQueueFloor and at most a quarter of the ack timeout. While the
// latest ack shows a queue under the bound the window grows, the faster
// the emptier the queue; when the last autoRTTSamples acks all show it at
// the bound (or any round trip reaches half the ack timeout), the window
// shrinks to the one that leaves no queue, once per round trip.
const (
	// autoQueueFloor is the least queue the window tolerates before it
	// shrinks: on a LAN, where the base is a few milliseconds, the server's
	// own processing varies by more than the base.
	autoQueueFloor = 100 * time.Millisecond
	// autoRTTSamples is how many of the latest round trips the queue is
	// measured over (their minimum): one late ack is no queue.
	autoRTTSamples = 4
	// autoDecrease is what the window is multiplied by when an ack times
	// out, and at most when the queue reaches its bound: then by base /
	// round trip, the window that leaves no queue (a queue of one base
	// round trip is a window of twice the bandwidth-delay product: the
	// halved window still fills the link).
	autoDecrease = 0.5
	// autoFastGrowth is the records added per ack while the queue is
	// under an eighth of its bound: the window triples per round trip.
	// Fast growth (this and autoGrowth) lasts until the first decrease of
	// a session, and after an ack timeout until the window is back where
	// it was.
	autoFastGrowth = 2
	// autoGrowth is the records added per ack while the queue is under a
	// quarter of its bound: the window doubles per round trip.
	autoGrowth = 1
	// autoProbe is the records added per ack otherwise, while the queue
	// is under its bound (an eighth more per round trip), so that the
	// window keeps probing for a faster link and meets the bound within a
	// few round trips, whose decrease drains the queue and lets the base
	// be measured again.
	autoProbe = 1.0 / 8
	// autoBaseWindow is how long a round trip counts as the base: a base
	// that changed (another cellular cell, a longer route) is learnt
	// within it.
	autoBaseWindow = 30 * time.Second
	// autoUseFactor bounds the window's growth by its use: at most this
	// many times the records that were in flight when the acked one was
	// sent, so that a window is never far larger than one that was
	// tried (the tail of a backlog does not leave a window twice the
	// size any link has carried for the next).
	autoUseFactor = 3
	// autoSizeWeight is the weight of each acked record in the mean record
	// size that turns AutoWindowMaxBytes into records.
	autoSizeWeight = 1.0 / 8
)

// autoWindow is the window of Options.Window = WindowAuto: a congestion
// window on the records in flight, grown while the acks' round trip
// stays near its base and shrunk when it inflates (buffers filling:
// bufferbloat) or an ack times out. Every send is numbered (flight.n);
// a round is the time from a send to its ack. It is owned by Run's
// goroutine.
type autoWindow struct {
	ackTimeout time.Duration
	sid        string // the session it measures; another one starts afresh

	// cwnd is the window in records, not yet bounded. ssthresh ends the
	// fast growth: 0 until the first decrease of the session, then the
	// window a decrease left, or the one an ack timeout halved (regained
	// fast while the queue stays low).
	cwnd, ssthresh float64

	base     minWindow
	samples  [autoRTTSamples]time.Duration
	nsamples int
	rtt      time.Duration // the least of samples: the filtered round trip
	meanSize float64       // of the acked records' payloads

	// recover is the first send after the last decrease: acks of earlier
	// sends still show the queue that decrease is draining, and change
	// nothing.
	recover uint64
}

func newAutoWindow(ackTimeout time.Duration) *autoWindow {
	return &autoWindow{ackTimeout: ackTimeout, cwnd: AutoWindowInitial}
}

// session starts afresh if sid is not the session measured so far: the
// new connection may take another path.
func (w *autoWindow) session(sid string, sends uint64) {
	if sid == w.sid {
		return
	}
	*w = autoWindow{ackTimeout: w.ackTimeout, sid: sid, cwnd: AutoWindowInitial, recover: sends, meanSize: w.meanSize}
}

// records is the window in records, within its bounds.
func (w *autoWindow) records() int {
	return min(max(int(w.cwnd), AutoWindowMin), w.limit())
}

// limit is the largest window: AutoWindowMaxRecords, and no more records
// than AutoWindowMaxBytes holds at the mean record size.
func (w *autoWindow) limit() int {
	limit := AutoWindowMaxRecords
	if w.meanSize > 0 {
		limit = min(limit, max(AutoWindowMin, int(AutoWindowMaxBytes/w.meanSize)))
	}
	return limit
}

// acked takes the ack of flight f, which arrived at at; sends is the
// number of sends so far.
func (w *autoWindow) acked(f flight, at time.Time, sends uint64) {
	if f.sent.IsZero() || at.IsZero() {
		return
	}
	rtt := max(at.Sub(f.sent), time.Microsecond)
	w.base.add(rtt, at)
	w.samples[w.nsamples%autoRTTSamples] = rtt
	w.nsamples++
	w.rtt = rtt
	for _, s := range w.samples[:min(w.nsamples, autoRTTSamples)] {
		w.rtt = min(w.rtt, s)
	}
	if w.meanSize == 0 {
		w.meanSize = float64(f.bytes)
	} else {
		w.meanSize += autoSizeWeight * (float64(f.bytes) - w.meanSize)
	}
	// A decrease needs the queue in the last few round trips, growth
	// only in the latest.
	base := w.base.min()
	queue, latest := w.rtt-base, rtt-base
	high := min(max(base, autoQueueFloor), w.ackTimeout/4)
	switch {
	case f.n < w.recover:
		// Sent before the last decrease took effect.
	case w.nsamples >= autoRTTSamples && (queue >= high || w.rtt >= w.ackTimeout/2):
		// The window that leaves no queue, W × base / round trip, is at
		// most half of it here.
		w.decrease(min(autoDecrease, base.Seconds()/w.rtt.Seconds()), sends)
		w.ssthresh = w.cwnd
	case w.cwnd >= float64(autoUseFactor*f.inflight):
		// The window was not what held the drainer back (a short queue, a
		// drain rate): its acks say nothing of a larger one.
	case latest >= high:
	case w.ssthresh > 0 && w.cwnd >= w.ssthresh:
		w.cwnd += autoProbe // past the last good window: probe
	case latest < high/8:
		w.cwnd += autoFastGrowth
	case latest < high/4:
		w.cwnd += autoGrowth
	default:
		w.cwnd += autoProbe
	}
	w.cwnd = min(w.cwnd, float64(w.limit())) // no credit beyond the bounds
}

// timedOut takes the ack timeout of flight f.
func (w *autoWindow) timedOut(f flight, sends uint64) {
	if f.n >= w.recover {
		w.ssthresh = w.cwnd
		w.decrease(autoDecrease, sends)
	}
}

// decrease multiplies the window by factor, once per round: until the
// sends from now on are acked, later signals are the same queue.
func (w *autoWindow) decrease(factor float64, sends uint64) {
	w.cwnd = max(w.cwnd*factor, AutoWindowMin)
	w.recover = sends
}

// minWindow is the least round trip seen over the last autoBaseWindow,
// kept in two halves: the minimum of the current half and of the one
// before.
type minWindow struct {
	cur, prev time.Duration // zero: none
	since     time.Time     // when cur began
}

func (m *minWindow) add(v time.Duration, now time.Time) {
	switch age := now.Sub(m.since); {
	case m.since.IsZero() || age >= autoBaseWindow:
		m.prev, m.cur, m.since = 0, 0, now
	case age >= autoBaseWindow/2:
		m.prev, m.cur, m.since = m.cur, 0, now
	}
	if m.cur == 0 || v < m.cur {
		m.cur = v
	}
}

func (m *minWindow) min() time.Duration {
	if m.prev != 0 && m.prev < m.cur {
		return m.prev
	}
	return m.cur
}
