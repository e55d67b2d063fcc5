package outbox_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/faultproxy"
	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/outbox"
)

// enqueueSized enqueues n batches of size bytes each (a recognisable
// pattern per batch) and returns their seqs and payloads.
func enqueueSized(t testing.TB, enqueue func([]byte) uint64, n, size int) ([]uint64, sent) {
	t.Helper()
	var seqs []uint64
	payloads := sent{}
	for i := range n {
		p := bytes.Repeat([]byte{byte(i), byte(i >> 8), 0x5a}, size/3+1)[:size]
		seq := enqueue(p)
		seqs = append(seqs, seq)
		payloads[seq] = p
	}
	return seqs, payloads
}

// With the auto window (the default) and a 300 ms round trip, the window
// grows beyond the fixed default of earlier agents while a backlog
// drains, stays within its bounds, and the backlog arrives complete and
// in seq order. The round trip it measured is at least the proxy's.
func TestAutoWindowGrowsOnALongRoundTrip(t *testing.T) {
	const (
		latency = 150 * time.Millisecond // each way
		records = 400
		size    = 2000
	)
	srv := nodeserver.Start(t, nodeserver.Options{})
	p := faultproxy.Start(t, strings.TrimPrefix(srv.URL(), "http://"))
	p.SetLatency(latency)
	st, _ := openStore(t)
	seqs, payloads := enqueueSized(t, func(b []byte) uint64 {
		seq, err := outbox.Enqueue(context.Background(), st, 1, outbox.ContentTypeSenMLCBOR, b)
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}, records, size)
	obs := newObserver(t, srv.URL())
	dev := newDevice(t, p.URL(), st, outbox.Options{DeviceID: "auto-grows"})
	if w := dev.d.Stats().Window; w != outbox.AutoWindowInitial {
		t.Fatalf("Stats.Window = %d before the first send, want AutoWindowInitial (%d)", w, outbox.AutoWindowInitial)
	}
	dev.waitConnected(t)
	dev.run(t)
	peak := 0
	waitFor(t, "the backlog", func() bool {
		s := dev.d.Stats()
		peak = max(peak, s.InFlight)
		if s.InFlight > s.Window || s.Window > outbox.AutoWindowMaxRecords || s.InFlightBytes > outbox.AutoWindowMaxBytes {
			t.Fatalf("out of bounds: %d in flight (%d bytes), window %d", s.InFlight, s.InFlightBytes, s.Window)
		}
		return s.Acked == records
	})
	s := dev.d.Stats()
	t.Logf("window %d at the end, peak %d in flight seen, RTT %v, min RTT %v", s.Window, peak, s.RTT, s.MinRTT)
	if s.Window <= outbox.AutoWindowInitial {
		t.Errorf("the auto window stayed at %d over a %v round trip, want more than %d", s.Window, 2*latency, outbox.AutoWindowInitial)
	}
	if s.MinRTT < 2*latency || s.RTT < s.MinRTT {
		t.Errorf("measured RTT %v, min RTT %v; the proxy alone adds %v", s.RTT, s.MinRTT, 2*latency)
	}
	if s.Timeouts != 0 || s.Resends != 0 {
		t.Errorf("%d ack timeouts, %d resends on a link that loses nothing", s.Timeouts, s.Resends)
	}
	checkDelivered(t, obs.stats(t, "auto-grows"), seqs)
	checkContents(t, obs, "auto-grows", payloads)
}

// A server that never acks (hostile, or stuck) cannot make the auto
// window hold more than AutoWindowMaxBytes of payload: with records of a
// sixth of a MiB, fewer records than the initial window fit, and no more
// are sent while none is acked.
func TestAutoWindowBoundedWhenTheServerNeverAcks(t *testing.T) {
	const (
		size    = 160 << 10
		records = 40
		fit     = outbox.AutoWindowMaxBytes / size // 25
	)
	if fit >= outbox.AutoWindowInitial {
		t.Fatalf("the test needs records that the byte bound stops before the initial window (%d fit)", fit)
	}
	srv := nodeserver.Start(t, nodeserver.Options{})
	st, _ := openStore(t)
	seqs, _ := enqueueSized(t, func(b []byte) uint64 {
		seq, err := outbox.Enqueue(context.Background(), st, 1, outbox.ContentTypeSenMLCBOR, b)
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}, records, size)
	obs := newObserver(t, srv.URL())
	obs.reject(t, "never-acks", "silent", 1<<30, seqs...)
	dev := newDevice(t, srv.URL(), st, outbox.Options{DeviceID: "never-acks", AckTimeout: time.Minute})
	dev.waitConnected(t)
	dev.run(t)
	waitFor(t, "the window to fill", func() bool { return dev.d.Stats().InFlight >= fit })
	// Nothing is acked, so nothing changes from here on: give a drainer
	// that ignored the bound the time to send more.
	waitFor(t, "the server to see them", func() bool { return obs.stats(t, "never-acks").Ignored >= fit })
	time.Sleep(300 * time.Millisecond)
	s := dev.d.Stats()
	if s.InFlight != fit || s.InFlightBytes > outbox.AutoWindowMaxBytes || s.Sent != uint64(fit) {
		t.Fatalf("%d records (%d bytes) in flight, %d sent; want %d, at most %d bytes", s.InFlight, s.InFlightBytes, s.Sent, fit, outbox.AutoWindowMaxBytes)
	}
	if got := obs.stats(t, "never-acks").Ignored; got != fit {
		t.Fatalf("the server received %d records, want %d", got, fit)
	}
}
