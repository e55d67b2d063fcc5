package outbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/outbox"
)

// heldRetry is a short retry delay, so that a held record is tried again
// several times while a test watches.
const (
	heldRetry    = 20 * time.Millisecond
	heldRetryMax = 200 * time.Millisecond
	// heldWatch is how long the tests let the drainer retry a held record.
	heldWatch = time.Second
)

// The issue: a server whose maxPayload is smaller than every record
// (here 64 bytes, less than the header alone) used to dead-letter the
// whole backlog in milliseconds. The records are held instead, nothing is
// dead-lettered, status says which record and why, and all of them arrive,
// in order, once the server comes back with a normal limit.
func TestSmallMaxPayloadHoldsTheBacklog(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{MaxPayload: 64})
	st, _ := openStore(t)
	seqs := produce(t, st, 200, 4)
	dev := newDevice(t, srv.URL(), st, outbox.Options{DeviceID: "small-limit", RetryDelay: heldRetry, RetryDelayMax: heldRetryMax})
	dev.waitConnected(t)
	dev.run(t)

	waitFor(t, "the held record", func() bool {
		h := dev.d.Stats().Held
		return h != nil && h.Tries >= 3 || st.Stats().DeadLettered > 0
	})
	time.Sleep(heldWatch)
	ds := dev.d.Stats()
	if ds.DeadLettered != 0 || st.Stats().DeadLettered != 0 || st.Stats().DeadLetters != 0 {
		t.Fatalf("dead-lettered: drainer %d, store %d of %d records", ds.DeadLettered, st.Stats().DeadLettered, len(seqs))
	}
	h := ds.Held
	if h == nil || h.Seq != seqs[0] || h.Limit != 64 || h.Size <= 64 {
		t.Fatalf("held %+v, want seq %d over the limit of 64", h, seqs[0])
	}
	if got := queued(t, st); len(got) != len(seqs) {
		t.Fatalf("%d records queued, want all %d", len(got), len(seqs))
	}
	// Sent counts emits handed to the socket; one queued while an upgrade
	// pauses the transport is refused for its size only when written. None
	// may be delivered.
	if ds.Acked != 0 {
		t.Fatalf("%d acked while the limit refused the first record", ds.Acked)
	}

	srv.RestartWith(t, nodeserver.Options{})
	waitFor(t, "the backlog", func() bool { return dev.d.Stats().Acked == uint64(len(seqs)) })
	checkDelivered(t, newObserver(t, srv.URL()).stats(t, "small-limit"), seqs)
	if ds := dev.d.Stats(); ds.Held != nil || ds.DeadLettered != 0 {
		t.Fatalf("after delivery: held %+v, %d dead-lettered", ds.Held, ds.DeadLettered)
	}
}

// One record too large for the session holds the queue where it is: the
// records before it are delivered, it and the ones after it wait (none is
// sent out of order), and they all go once a session allows it.
func TestTooLargeRecordHoldsInOrder(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{MaxPayload: 1000})
	st, _ := openStore(t)
	seqs := produce(t, st, 10, 1)
	big, err := outbox.Enqueue(context.Background(), st, 1, outbox.ContentTypeSenMLCBOR, make([]byte, 2000))
	if err != nil {
		t.Fatal(err)
	}
	after := produce(t, st, 10, 1)
	dev := newDevice(t, srv.URL(), st, outbox.Options{DeviceID: "one-big", RetryDelay: heldRetry, RetryDelayMax: heldRetryMax})
	dev.waitConnected(t)
	dev.run(t)

	waitFor(t, "the records before the large one", func() bool { return dev.d.Stats().Acked >= uint64(len(seqs)) })
	waitFor(t, "the held record", func() bool {
		h := dev.d.Stats().Held
		return h != nil && h.Tries >= 3 || st.Stats().DeadLettered > 0
	})
	time.Sleep(heldWatch)
	if n := st.Stats().DeadLettered; n != 0 {
		t.Fatalf("%d records dead-lettered", n)
	}
	if h := dev.d.Stats().Held; h == nil || h.Seq != big || h.Limit != 1000 || h.Size <= 2000 {
		t.Fatalf("held %+v, want seq %d, more than 2000 bytes over 1000", h, big)
	}
	checkDelivered(t, newObserver(t, srv.URL()).stats(t, "one-big"), seqs)
	if got := queued(t, st); len(got) != 1+len(after) || got[0] != big {
		t.Fatalf("queued %v, want %d then %v", got, big, after)
	}

	srv.RestartWith(t, nodeserver.Options{})
	all := append(append(seqs, big), after...)
	waitFor(t, "the rest", func() bool { return dev.d.Stats().Acked == uint64(len(all)) })
	s := newObserver(t, srv.URL()).stats(t, "one-big")
	checkDelivered(t, s, append([]uint64{big}, after...))
	if ds := dev.d.Stats(); ds.Held != nil || ds.DeadLettered != 0 || st.Stats().DeadLetters != 0 {
		t.Fatalf("after delivery: held %+v, %d dead-lettered", ds.Held, ds.DeadLettered)
	}
}
