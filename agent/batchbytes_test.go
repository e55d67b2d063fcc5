package agent

import (
	"context"
	"testing"
	"time"

	"github.com/sioagent/sioagent/outbox"
)

// A batch is closed before a reading would take it over batch_max_bytes:
// 1,000 readings in one flush become several stored batches, each within
// the cap, with every reading kept and in order.
func TestBatchMaxBytesCutsBatches(t *testing.T) {
	const limit = 4 << 10
	f := newBatchFixture(t, 1000, time.Hour)
	f.b.maxBytes = limit
	f.start(t)
	f.b.add(context.Background(), numbered(1, 1000), true)
	f.stop()
	recs, err := f.st.Peek(1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 2 {
		t.Fatalf("%d batches, want the 1,000 readings cut into several", len(recs))
	}
	total := 0
	for _, r := range recs {
		var b outbox.Batch
		if err := b.UnmarshalBinary(r.Data); err != nil {
			t.Fatal(err)
		}
		if len(b.Payload) > limit {
			t.Errorf("seq %d: %d bytes, over the cap of %d", r.Seq, len(b.Payload), limit)
		}
		total += b.Count
	}
	if total != 1000 {
		t.Fatalf("%d readings stored, want 1000", total)
	}
}
