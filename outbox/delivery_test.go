package outbox_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/faultproxy"
	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/store"
)

// waitConnected waits for the device's next connection and returns when it
// happened.
func (dev *device) waitConnected(t testing.TB) time.Time {
	t.Helper()
	select {
	case at := <-dev.connectedAt:
		return at
	case <-time.After(testTimeout):
		t.Fatal("the device did not connect")
		return time.Time{}
	}
}

// liveMedianBound bounds the median time from Enqueue to ack of a live
// record (milliseconds on an idle machine).
const liveMedianBound = 250 * time.Millisecond

// Records produced while connected reach the server within milliseconds,
// one by one and in bursts, in order, and leave the store empty.
func TestLiveDelivery(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	st, _ := openStore(t)
	obs := newObserver(t, srv.URL())
	dev := newDevice(t, srv.URL(), st, outbox.Options{DeviceID: "live"})
	dev.waitConnected(t)
	dev.run(t)

	const single = 50
	var seqs []uint64
	payloads := sent{}
	var latencies []time.Duration
	for i := range single {
		seq, err := outbox.Enqueue(context.Background(), st, 1, outbox.ContentTypeSenMLCBOR, payload(i))
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
		payloads[seq] = payload(i)
		latencies = append(latencies, waitFor(t, "the ack", func() bool { return dev.d.Stats().Acked == uint64(i+1) }))
	}
	// A live record goes out when it is enqueued, not at a timer: no
	// resends (checked below), a median of milliseconds (a median is
	// robust to the odd stall of a loaded machine, a worst case is not),
	// and none as slow as an ack timeout.
	slices.Sort(latencies)
	if median := latencies[len(latencies)/2]; median > liveMedianBound {
		t.Errorf("live records took a median %v to be acked, want at most %v", median, liveMedianBound)
	}
	if worst := latencies[len(latencies)-1]; worst >= outbox.DefaultAckTimeout {
		t.Errorf("a live record took %v to be acked, an ack timeout (%v)", worst, outbox.DefaultAckTimeout)
	}
	t.Logf("live records, enqueued to acked and removed: median %v, worst %v", latencies[len(latencies)/2], latencies[len(latencies)-1])

	burst, burstPayloads := producePayloads(t, st, 500, 8)
	seqs = append(seqs, burst...)
	payloads.add(burstPayloads)
	waitFor(t, "the burst", func() bool { return dev.d.Stats().Acked == uint64(len(seqs)) })
	if n := st.Stats().Count; n != 0 {
		t.Errorf("%d records left in the store", n)
	}
	s := obs.stats(t, "live")
	checkDelivered(t, s, seqs)
	checkContents(t, obs, "live", payloads)
	if want := single + 3*500; s.Records != want || s.Duplicates != 0 || s.Rejected != 0 {
		t.Errorf("server: %d readings, %d duplicates, %d rejected; want %d, 0, 0", s.Records, s.Duplicates, s.Rejected, want)
	}
	ds := dev.d.Stats()
	if ds.Sent != uint64(len(seqs)) || ds.Resends != 0 || ds.InFlight != 0 || ds.LastError != nil {
		t.Errorf("drainer stats %+v", ds)
	}
}

// The outage proof: 10,000 records produced while the server is
// down all arrive once it is back, each stored once and in seq order, much
// faster than stop-and-wait would deliver them.
func TestOutageEndToEnd(t *testing.T) {
	const n = 10_000
	srv := nodeserver.Start(t, nodeserver.Options{})
	url := srv.URL()
	srv.Stop()

	st, _ := openStore(t)
	dev := newDevice(t, url, st, outbox.Options{DeviceID: "outage"})
	dev.run(t)
	start := time.Now()
	seqs, payloads := producePayloads(t, st, n, 32)
	t.Logf("produced %d records in %v (%d commits) while the server was down", n, time.Since(start), st.Stats().Commits)
	if got := st.Stats().Count; got != n {
		t.Fatalf("store holds %d records, want %d", got, n)
	}
	if s := dev.d.Stats(); s.Sent != 0 {
		t.Fatalf("sent %d records while the server was down", s.Sent)
	}

	srv.Restart(t)
	connected := dev.waitConnected(t)
	waitFor(t, "the drain", func() bool { return dev.d.Stats().Acked >= n })
	drained := time.Since(connected)
	if got := st.Stats().Count; got != 0 {
		t.Fatalf("%d records left in the store", got)
	}
	obs := newObserver(t, url)
	s := obs.stats(t, "outage")
	checkDelivered(t, s, seqs)
	checkContents(t, obs, "outage", payloads)

	// Stop-and-wait over the same path: a window of 1 on a smaller backlog.
	const sw = 300
	st1, _ := openStore(t)
	seqs1 := produce(t, st1, sw, 8)
	dev1 := newDevice(t, url, st1, outbox.Options{DeviceID: "outage-w1", Window: 1})
	dev1.waitConnected(t)
	start = time.Now()
	dev1.run(t)
	waitFor(t, "the stop-and-wait drain", func() bool { return dev1.d.Stats().Acked >= sw })
	perRecord := time.Since(start) / sw
	checkDelivered(t, obs.stats(t, "outage-w1"), seqs1)

	ds := dev.d.Stats()
	stopAndWait := perRecord * n
	t.Logf("drained %d in %v (%.0f records/s, %d duplicates, %d resends); W=1 would need ≈%v (%.1fx)",
		n, drained.Round(time.Millisecond), float64(n)/drained.Seconds(), s.Duplicates, ds.Resends,
		stopAndWait.Round(time.Millisecond), float64(stopAndWait)/float64(drained))
	if drained >= stopAndWait {
		t.Errorf("the pipelined drain (%v) was not faster than stop-and-wait (≈%v)", drained, stopAndWait)
	}
}

// Hard cuts of the link while a large backlog drains: everything still
// arrives once, and at every point each record is in the store or stored
// by the server (nothing is removed before its ack).
func TestDisconnectMidDrain(t *testing.T) {
	const n = 4000
	srv := nodeserver.Start(t, nodeserver.Options{})
	p := faultproxy.Start(t, strings.TrimPrefix(srv.URL(), "http://"))
	p.SetLatency(time.Millisecond) // slow enough for the cuts to land mid-drain
	st, _ := openStore(t)
	seqs, payloads := producePayloads(t, st, n, 16)
	obs := newObserver(t, srv.URL())
	dev := newDevice(t, p.URL(), st, outbox.Options{DeviceID: "cuts", AckTimeout: 2 * time.Second})
	dev.waitConnected(t)
	dev.run(t)

	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	cuts := 0
	for dev.d.Stats().Acked < n && cuts < 50 {
		time.Sleep(time.Duration(20+r.IntN(60)) * time.Millisecond)
		p.Cut()
		cuts++
		checkNoLoss(t, st, obs, "cuts", seqs)
	}
	waitFor(t, "the drain", func() bool { return dev.d.Stats().Acked >= n })
	checkNoLoss(t, st, obs, "cuts", seqs)
	if got := st.Stats().Count; got != 0 {
		t.Fatalf("%d records left in the store", got)
	}
	s := obs.stats(t, "cuts")
	checkDelivered(t, s, seqs)
	checkContents(t, obs, "cuts", payloads)
	ds := dev.d.Stats()
	t.Logf("%d cuts: %d disconnected acks, %d resends, %d duplicates acked (server counted %d)",
		cuts, ds.Disconnects, ds.Resends, ds.Duplicates, s.Duplicates)
	if cuts > 1 && ds.Disconnects == 0 {
		t.Errorf("%d cuts but no ack lost to a disconnection: the cuts missed the drain", cuts)
	}
}

// checkNoLoss checks that every seq of want is either still queued or
// stored by the server. The store is read first: a record missing from it
// was acked, so stored, before the server is asked.
func checkNoLoss(t testing.TB, st *store.Store, obs *observer, deviceID string, want []uint64) {
	t.Helper()
	have := make(map[uint64]bool, len(want))
	queue := queued(t, st)
	for _, seq := range queue {
		have[seq] = true
	}
	s := obs.stats(t, deviceID)
	for _, seq := range s.seqs() {
		have[seq] = true
	}
	for _, seq := range want {
		if !have[seq] {
			t.Fatalf("seq %d is neither queued nor stored by the server (%d queued, %d stored)", seq, len(queue), s.Stored)
		}
	}
	if len(queue)+s.Stored < len(want) {
		t.Fatalf("%d queued + %d stored < %d produced", len(queue), s.Stored, len(want))
	}
}

// OnAck sees the round trip of every positive ack, and SentBytes counts
// the payload bytes sent.
func TestOnAckAndSentBytes(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	st, _ := openStore(t)
	acks := make(chan time.Duration, 10)
	dev := newDevice(t, srv.URL(), st, outbox.Options{DeviceID: "onack", OnAck: func(d time.Duration) { acks <- d }})
	dev.waitConnected(t)
	dev.run(t)
	var bytes uint64
	for i := range 5 {
		p := payload(i)
		bytes += uint64(len(p))
		if _, err := outbox.Enqueue(context.Background(), st, 1, outbox.ContentTypeSenMLCBOR, p); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the acks", func() bool { return dev.d.Stats().Acked == 5 })
	for range 5 {
		select {
		case d := <-acks:
			if d <= 0 || d >= outbox.DefaultAckTimeout {
				t.Errorf("ack round trip %v", d)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("OnAck not called for every ack")
		}
	}
	if got := dev.d.Stats().SentBytes; got != bytes {
		t.Errorf("SentBytes %d, want %d", got, bytes)
	}
}
