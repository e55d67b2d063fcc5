package outbox_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/outbox"
)

// With Options.DrainRate, a backlog reaches the server no faster than the
// rate allows (one second's worth may go at once), in seq order and
// complete. The bound is a lower one, so a slow machine cannot make the
// test fail; without the limit the same backlog drains in well under it.
func TestDrainRateBoundsTheBacklog(t *testing.T) {
	const (
		rate    = 8 << 10 // bytes per second
		records = 12
		size    = 2000
	)
	srv := nodeserver.Start(t, nodeserver.Options{})
	st, _ := openStore(t)
	var seqs []uint64
	payloads := sent{}
	for i := range records {
		p := bytes.Repeat([]byte{byte(i)}, size)
		seq, err := outbox.Enqueue(context.Background(), st, 1, outbox.ContentTypeSenMLCBOR, p)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
		payloads[seq] = p
	}
	obs := newObserver(t, srv.URL())
	dev := newDevice(t, srv.URL(), st, outbox.Options{DeviceID: "metered", DrainRate: rate})
	dev.waitConnected(t)
	start := time.Now()
	dev.run(t)
	waitFor(t, "the backlog", func() bool { return dev.d.Stats().Acked == records })
	took := time.Since(start)
	// 24,000 bytes: the first 8,192 at once, the other 15,808 at 8 KiB/s.
	if least := time.Duration(float64(records*size-rate) / rate * float64(time.Second)); took < least {
		t.Errorf("the backlog drained in %v, faster than %d bytes/s allows (at least %v)", took, rate, least)
	}
	t.Logf("%d bytes drained in %v at %d bytes/s", records*size, took, rate)
	s := obs.stats(t, "metered")
	checkDelivered(t, s, seqs)
	checkContents(t, obs, "metered", payloads)
}
