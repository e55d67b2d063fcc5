package outbox_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/wire"
)

// Refusals and lost acks, set on the server for one record in the middle
// of a backlog: a permanent refusal ends in the dead-letter bucket after
// MaxAttempts while the queue keeps flowing; a transient refusal and a
// missing ack are retried until the record is delivered.
func TestRejections(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	obs := newObserver(t, srv.URL())
	const n, bad = 40, 10 // bad is the index of the refused record
	for _, tc := range []struct {
		mode  string
		times int
		check func(t *testing.T, s serverStats, ds outbox.Stats)
	}{
		{mode: "permanent", times: 1 << 30, check: func(t *testing.T, s serverStats, ds outbox.Stats) {
			if s.Rejected != 3 || ds.Rejected != 3 || ds.DeadLettered != 1 {
				t.Errorf("server rejected %d, drainer saw %d rejections and dead-lettered %d; want 3, 3, 1", s.Rejected, ds.Rejected, ds.DeadLettered)
			}
			if ae, ok := ds.LastError.(*wire.AckError); !ok || !ae.Permanent || ae.Code != "rejected" {
				t.Errorf("LastError = %v, want the permanent rejection", ds.LastError)
			}
		}},
		{mode: "transient", times: 4, check: func(t *testing.T, s serverStats, ds outbox.Stats) {
			if s.Rejected != 4 || ds.Rejected != 4 || ds.DeadLettered != 0 {
				t.Errorf("server rejected %d, drainer saw %d rejections and dead-lettered %d; want 4, 4, 0", s.Rejected, ds.Rejected, ds.DeadLettered)
			}
		}},
		{mode: "silent", times: 2, check: func(t *testing.T, s serverStats, ds outbox.Stats) {
			if s.Ignored != 2 || ds.Timeouts != 2 || ds.DeadLettered != 0 {
				t.Errorf("server ignored %d, drainer saw %d timeouts and dead-lettered %d; want 2, 2, 0", s.Ignored, ds.Timeouts, ds.DeadLettered)
			}
		}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			id := "reject-" + tc.mode
			st, _ := openStore(t)
			seqs, payloads := producePayloads(t, st, n, 1) // one producer: seqs[i] holds payload(i)
			obs.reject(t, id, tc.mode, tc.times, seqs[bad])
			dev := newDevice(t, srv.URL(), st, outbox.Options{
				DeviceID:    id,
				MaxAttempts: 3,
				AckTimeout:  300 * time.Millisecond,
				RetryDelay:  20 * time.Millisecond,
			})
			dev.run(t)
			want := seqs
			if tc.mode == "permanent" {
				want = append(seqs[:bad:bad], seqs[bad+1:]...)
			}
			took := waitFor(t, "the drain", func() bool { return st.Stats().Count == 0 })
			// The queue keeps flowing: records produced afterwards arrive too.
			more, morePayloads := producePayloads(t, st, 10, 2)
			want = append(want, more...)
			payloads.add(morePayloads)
			if tc.mode == "permanent" {
				delete(payloads, seqs[bad])
			}
			waitFor(t, "the later records", func() bool { return st.Stats().Count == 0 })

			s := obs.stats(t, id)
			got := s.seqs()
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("server stored %v, want %v", got, want)
			}
			checkContents(t, obs, id, payloads)
			ds := dev.d.Stats()
			tc.check(t, s, ds)
			t.Logf("queue empty after %v; drainer %+v", took, ds)

			if tc.mode == "permanent" {
				dead, err := st.DeadLetters(10)
				if err != nil {
					t.Fatal(err)
				}
				if len(dead) != 1 || dead[0].Seq != seqs[bad] || !strings.Contains(dead[0].Reason, "rejected 3 times") {
					t.Fatalf("dead letters %+v, want seq %d rejected 3 times", dead, seqs[bad])
				}
				var b outbox.Batch
				if err := b.UnmarshalBinary(dead[0].Data); err != nil || string(b.Payload) != string(payload(bad)) {
					t.Errorf("dead letter holds %q (%v), want the batch %q", b.Payload, err, payload(bad))
				}
				if st.Stats().DeadLettered != 1 {
					t.Errorf("store counts %d dead letters, want 1", st.Stats().DeadLettered)
				}
			}
		})
	}
}

// A record that can never be sent, one not written by Enqueue, goes to the
// dead-letter bucket at once and does not hold up the others. (A record
// larger than the server's maxPayload is held instead: held_test.go.)
func TestUnsendableRecordsDeadLettered(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	obs := newObserver(t, srv.URL())
	st, _ := openStore(t)
	ctx := t.Context()
	var want []uint64
	enqueue := func(size int) uint64 {
		seq, err := outbox.Enqueue(ctx, st, 1, "application/octet-stream", make([]byte, size))
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
	want = append(want, enqueue(100))
	garbage, err := st.Append(ctx, []byte{0xff, 1, 2})
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, enqueue(100))

	dev := newDevice(t, srv.URL(), st, outbox.Options{DeviceID: "unsendable"})
	dev.run(t)
	waitFor(t, "the drain", func() bool { return st.Stats().Count == 0 })
	if got := obs.stats(t, "unsendable").seqs(); !slices.Equal(got, want) {
		t.Fatalf("server stored %v, want %v", got, want)
	}
	dead, err := st.DeadLetters(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Seq != garbage {
		t.Fatalf("dead letters %+v, want seq %d", dead, garbage)
	}
	if !strings.Contains(dead[0].Reason, "malformed record") {
		t.Errorf("dead-letter reason %q", dead[0].Reason)
	}
	if s := dev.d.Stats(); s.DeadLettered != 1 || s.Sent != 2 {
		t.Errorf("drainer stats %+v, want 2 sent and 1 dead-lettered", s)
	}
}

// Unsendable records at the head of the queue, with a window of 1 and
// nothing appended afterwards: dead-lettering them fills no window slot, and
// the good records behind them must still go out without another append or
// Wake to prompt the drainer.
func TestUnsendableHeadDoesNotStall(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	obs := newObserver(t, srv.URL())
	st, _ := openStore(t)
	ctx := t.Context()
	// Two: the Wake of the connection may cover one.
	for range 2 {
		if _, err := st.Append(ctx, []byte{0xff, 1, 2}); err != nil {
			t.Fatal(err)
		}
	}
	want := produce(t, st, 3, 1)

	dev := newDevice(t, srv.URL(), st, outbox.Options{DeviceID: "unsendable-head", Window: 1})
	select {
	case <-dev.connectedAt:
	case <-time.After(testTimeout):
		t.Fatal("no connection")
	}
	dev.run(t)
	deadline := time.Now().Add(5 * time.Second)
	for st.Stats().Count != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("drain stalled: %d records left %v, drainer %+v", st.Stats().Count, queued(t, st), dev.d.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := obs.stats(t, "unsendable-head").seqs(); !slices.Equal(got, want) {
		t.Fatalf("server stored %v, want %v", got, want)
	}
}

// Deletion follows seq: while one record in the middle of the window is
// refused (transient) or not acked (silent), the records acked after it are
// not deleted before it. Sampled throughout the drain, the records left in
// the store are always a suffix of those enqueued.
func TestDeletionFollowsSeq(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	obs := newObserver(t, srv.URL())
	const n, bad = 40, 10
	for _, mode := range []string{"transient", "silent"} {
		t.Run(mode, func(t *testing.T) {
			id := "order-" + mode
			st, _ := openStore(t)
			seqs := produce(t, st, n, 1)
			obs.reject(t, id, mode, 2, seqs[bad])

			stop := make(chan struct{})
			violation := make(chan string, 1)
			samples := 0
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				for {
					select {
					case <-stop:
						return
					default:
					}
					recs, err := st.PeekAfter(0, 2*n)
					if err != nil {
						violation <- err.Error()
						return
					}
					samples++
					left := make([]uint64, len(recs))
					for i, r := range recs {
						left[i] = r.Seq
					}
					if !slices.Equal(left, seqs[n-len(left):]) {
						violation <- fmt.Sprintf("store holds %v: not a suffix of %v", left, seqs)
						return
					}
					time.Sleep(time.Millisecond)
				}
			}()

			dev := newDevice(t, srv.URL(), st, outbox.Options{
				DeviceID:   id,
				Window:     16,
				AckTimeout: 300 * time.Millisecond,
				RetryDelay: 100 * time.Millisecond,
			})
			dev.run(t)
			waitFor(t, "the drain", func() bool { return st.Stats().Count == 0 })
			close(stop)
			<-sampled
			select {
			case v := <-violation:
				t.Fatal(v)
			default:
			}
			got := obs.stats(t, id).seqs()
			slices.Sort(got)
			if got = slices.Compact(got); !slices.Equal(got, seqs) {
				t.Fatalf("server stored %v, want %v", got, seqs)
			}
			t.Logf("%d samples; drainer %+v", samples, dev.d.Stats())
		})
	}
}

// An ack that says ok starts the retry delays again from RetryDelay: a
// record refused once after another was refused many times waits the first
// delay, not the grown one.
func TestRetryDelayResetsAfterAnAck(t *testing.T) {
	const (
		base     = 20 * time.Millisecond
		refusals = 6 // the next delay would be base·2^6 = 1.28 s, at least 1 s with jitter
		// resetBound is well below the grown delay and far above base plus
		// a loopback round trip.
		resetBound = 700 * time.Millisecond
	)
	srv := nodeserver.Start(t, nodeserver.Options{})
	obs := newObserver(t, srv.URL())
	id := "retry-reset"
	st, _ := openStore(t)
	seqs := produce(t, st, 2, 1)
	obs.reject(t, id, "transient", refusals, seqs[0])
	obs.reject(t, id, "transient", 1, seqs[1])
	dev := newDevice(t, srv.URL(), st, outbox.Options{DeviceID: id, Window: 1, RetryDelay: base, RetryDelayMax: time.Minute})
	dev.run(t)
	waitFor(t, "the first record", func() bool { return st.Stats().Count == 1 })
	began := time.Now()
	waitFor(t, "the second record", func() bool { return st.Stats().Count == 0 })
	if took := time.Since(began); took > resetBound {
		t.Fatalf("the second record took %v after the first was acked (want under %v): the retry delay kept growing across an ok ack", took, resetBound)
	}
	if s := obs.stats(t, id); s.Rejected != refusals+1 {
		t.Fatalf("server rejected %d times, want %d", s.Rejected, refusals+1)
	}
}
