package outbox_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/outbox"
)

// Prepare turns each stored batch into the batch that is sent: the server
// sees the prepared count, the store keeps its record until acked, and a
// Prepare error moves that record (only) to the dead-letter bucket.
func TestPrepare(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	st, _ := openStore(t)
	const n = 20
	seqs := produce(t, st, n, 1) // count 3 each
	bad := seqs[5]
	var mu sync.Mutex
	prepared := map[uint64]int{}
	errBad := errors.New("cannot prepare")
	dev := newDevice(t, srv.URL(), st, outbox.Options{DeviceID: "prepare", Prepare: func(seq uint64, b outbox.Batch) (outbox.Batch, error) {
		mu.Lock()
		prepared[seq]++
		mu.Unlock()
		if seq == bad {
			return b, errBad
		}
		b.Count *= 10
		return b, nil
	}})
	dev.waitConnected(t)
	dev.run(t)
	obs := newObserver(t, srv.URL())
	deadline := time.Now().Add(testTimeout)
	for st.Stats().Count > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	s := obs.stats(t, "prepare")
	if s.Stored != n-1 || s.Records != (n-1)*30 {
		t.Errorf("server stored %d batches of %d records in all, want %d and %d", s.Stored, s.Records, n-1, (n-1)*30)
	}
	for _, seq := range s.seqs() {
		if seq == bad {
			t.Errorf("seq %d whose Prepare failed reached the server", bad)
		}
	}
	if got := st.Stats().DeadLetters; got != 1 {
		t.Errorf("%d dead letters, want 1", got)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, seq := range seqs {
		if prepared[seq] == 0 {
			t.Errorf("seq %d was never prepared", seq)
		}
	}
}
