package outbox_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/store"
)

// A dead letter requeued after the server stopped refusing it is
// delivered under a new seq, above every seq sent, naming the seq it
// replaces; the server's seqs keep increasing.
func TestRequeueDeliversUnderANewSeq(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	obs := newObserver(t, srv.URL())
	st, _ := openStore(t)
	seqs := produce(t, st, 5, 1)
	const id = "requeue"
	obs.reject(t, id, "permanent", 1, seqs[2]) // refused once, for good
	dev := newDevice(t, srv.URL(), st, outbox.Options{DeviceID: id, MaxAttempts: 1, RetryDelay: 20 * time.Millisecond})
	dev.run(t)
	waitFor(t, "the drain", func() bool { return st.Stats().Count == 0 })
	if n := st.Stats().DeadLetters; n != 1 {
		t.Fatalf("%d dead letters, want 1", n)
	}

	newSeq, err := outbox.Requeue(st, seqs[2])
	if err != nil {
		t.Fatal(err)
	}
	if newSeq <= seqs[len(seqs)-1] {
		t.Fatalf("requeued as seq %d, not above %d", newSeq, seqs[len(seqs)-1])
	}
	recs, err := st.Peek(1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("peek %v %v", recs, err)
	}
	var b outbox.Batch
	if err := b.UnmarshalBinary(recs[0].Data); err != nil || b.Replaces != seqs[2] || string(b.Payload) != string(payload(2)) {
		t.Fatalf("requeued batch %+v (%v), want payload 2 replacing seq %d", b, err, seqs[2])
	}
	waitFor(t, "the requeued record", func() bool { return st.Stats().Count == 0 })
	got := obs.stats(t, id).seqs()
	want := append(slices.Delete(slices.Clone(seqs), 2, 3), newSeq)
	if !slices.Equal(got, want) {
		t.Fatalf("server stored %v, want %v", got, want)
	}
	if _, err := outbox.Requeue(st, seqs[2]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("requeue twice: %v", err)
	}
}
