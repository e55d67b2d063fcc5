package outbox

import (
	"testing"
	"time"
)

// autoSim drives an autoWindow with acks of chosen round trips, as Run
// would: each ack is of a record sent now - rtt, with the window full.
type autoSim struct {
	w     *autoWindow
	now   time.Time
	sends uint64
}

func newAutoSim() *autoSim {
	s := &autoSim{w: newAutoWindow(DefaultAckTimeout), now: time.Unix(1e9, 0)}
	s.w.session("sid", 0)
	return s
}

// send numbers a send and returns its flight, sent now.
func (s *autoSim) send(size int) flight {
	f := flight{n: s.sends, bytes: size, sent: s.now, inflight: s.w.records()}
	s.sends++
	return f
}

// ack acks f after rtt (the clock moves on to the ack).
func (s *autoSim) ack(f flight, rtt time.Duration) {
	s.now = f.sent.Add(rtt)
	s.w.acked(f, s.now, s.sends)
}

// round sends n records of size bytes and acks them, each after rtt.
func (s *autoSim) round(n, size int, rtt time.Duration) {
	fs := make([]flight, n)
	for i := range fs {
		fs[i] = s.send(size)
	}
	for _, f := range fs {
		s.ack(f, rtt)
	}
}

// The window triples per round while the round trip stays at its base,
// and shrinks once, not once per ack, when the queue reaches a base round
// trip; the acks of records sent before the decrease change nothing; a
// queue that persists shrinks it again a round later; a window with a
// small queue keeps growing, slowly.
func TestAutoWindowDynamics(t *testing.T) {
	const base = 600 * time.Millisecond
	s := newAutoSim()
	s.round(AutoWindowInitial, 2000, base)
	if got, want := s.w.records(), AutoWindowInitial*3; got != want {
		t.Fatalf("after a round at the base round trip: window %d, want %d", got, want)
	}
	// A queue a little over one base: the window shrinks once, to the
	// one that leaves no queue (W × base / round trip, under half).
	const queued = 2*base + 50*time.Millisecond
	shrink := func(w int) int { return int(float64(w) * base.Seconds() / queued.Seconds()) }
	before := s.w.records()
	s.round(before, 2000, queued)
	if got, want := s.w.records(), shrink(before); got != want {
		t.Fatalf("after a round with a queue of one base: window %d, want %d (shrunk once from %d)", got, want, before)
	}
	shrunk := s.w.records()
	s.round(shrunk, 2000, queued)
	if got, want := s.w.records(), shrink(shrunk); got != want {
		t.Fatalf("a queue that persists a round later: window %d, want %d", got, want)
	}
	// A single late ack is no queue.
	w := s.w.records()
	s.round(3, 2000, base)
	s.round(1, 2000, 3*base)
	if got := s.w.records(); got < w {
		t.Fatalf("one late ack shrank the window from %d to %d", w, got)
	}
	// A queue of half a base: an eighth of a record per ack.
	w = s.w.records()
	for range 4 {
		s.round(w, 2000, base+base/2)
	}
	if got, want := s.w.records(), w+4*w/8; got < want-1 || got > want {
		t.Fatalf("four rounds with a queue of half a base: window %d, want %d from %d", got, want, w)
	}
}

// The window never exceeds its bounds: AutoWindowMaxRecords records, and
// no more records than AutoWindowMaxBytes holds at the mean size; an ack
// timeout halves it, and a new session starts again from
// AutoWindowInitial.
func TestAutoWindowBounds(t *testing.T) {
	s := newAutoSim()
	for range 20 {
		s.round(s.w.records(), 100, time.Millisecond)
	}
	if got := s.w.records(); got != AutoWindowMaxRecords {
		t.Fatalf("with small records and no queue: window %d, want AutoWindowMaxRecords (%d)", got, AutoWindowMaxRecords)
	}
	big := newAutoSim()
	for range 20 {
		big.round(big.w.records(), 256<<10, time.Millisecond)
	}
	if got, want := big.w.records(), AutoWindowMaxBytes/(256<<10); got != want {
		t.Fatalf("with 256 KiB records: window %d, want %d", got, want)
	}
	f := s.send(100)
	s.w.timedOut(f, s.sends)
	if got := s.w.records(); got != AutoWindowMaxRecords/2 {
		t.Fatalf("after an ack timeout: window %d, want %d", got, AutoWindowMaxRecords/2)
	}
	s.w.session("another", s.sends)
	if got := s.w.records(); got != AutoWindowInitial {
		t.Fatalf("in a new session: window %d, want AutoWindowInitial", got)
	}
	for range 10 {
		f := s.send(100)
		s.w.timedOut(f, s.sends)
	}
	if got := s.w.records(); got != AutoWindowMin {
		t.Fatalf("after many timeouts: window %d, want AutoWindowMin (%d)", got, AutoWindowMin)
	}
}

// The base round trip is the least of the last autoBaseWindow: a longer
// route is learnt within it.
func TestAutoWindowBaseExpires(t *testing.T) {
	var m minWindow
	t0 := time.Unix(1e9, 0)
	m.add(50*time.Millisecond, t0)
	m.add(600*time.Millisecond, t0.Add(autoBaseWindow/2))
	if got := m.min(); got != 50*time.Millisecond {
		t.Fatalf("half a window later: base %v, want 50ms", got)
	}
	m.add(600*time.Millisecond, t0.Add(autoBaseWindow+time.Second))
	if got := m.min(); got != 600*time.Millisecond {
		t.Fatalf("a window later: base %v, want 600ms", got)
	}
}
