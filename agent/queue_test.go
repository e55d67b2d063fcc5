package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"testing"
	"time"

	"github.com/sioagent/sioagent/outbox"
)

// askSocket sends line (none when empty) on the status socket and decodes
// the reply into v; it returns how long the answer took.
func askSocket(t *testing.T, path, line string, v any) time.Duration {
	t.Helper()
	start := time.Now()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if line != "" {
		if _, err := io.WriteString(c, line+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	if err := json.NewDecoder(bufio.NewReader(c)).Decode(v); err != nil {
		t.Fatalf("reply to %q: %v", line, err)
	}
	return time.Since(start)
}

// The status socket lists, requeues and drops dead letters for `sioagent
// queue`, and still answers a client that sends nothing with the Status.
func TestStatusSocketQueueOps(t *testing.T) {
	a, _ := startTestAgent(t, newFakeHardware("GPIO27", "GPIO17"))
	var seqs []uint64
	for i := range 3 {
		seq, err := outbox.Enqueue(context.Background(), a.st, 2, "application/octet-stream", []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
	}
	for _, seq := range seqs[:2] {
		if err := a.st.DeadLetter(seq, "refused: bad_request"); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := a.serveStatus()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close()
	path := StatusSocketPath(a.cfg.Agent.RuntimeDir)

	var st Status
	if took := askSocket(t, path, "", &st); st.DeviceID == "" || took < StatusRequestWait/2 {
		t.Fatalf("no request: status %+v after %v", st, took)
	}
	if took := askSocket(t, path, `{"op":"status"}`, &st); st.DeviceID == "" || took >= StatusRequestWait {
		t.Fatalf("status request: %+v after %v", st, took)
	}

	var r QueueReply
	askSocket(t, path, `{"op":"queue-list","limit":1}`, &r)
	if len(r.DeadLetters) != 1 || !r.More || r.DeadLetters[0].Seq != seqs[0] || r.DeadLetters[0].Count != 2 || r.Stats.Kept != 2 {
		t.Fatalf("list page: %+v", r)
	}
	r = QueueReply{}
	askSocket(t, path, `{"op":"queue-requeue","seq":1}`, &r)
	if r.Error != "" || r.NewSeq <= seqs[2] || r.Stats.Requeued != 1 || r.Stats.Kept != 1 {
		t.Fatalf("requeue: %+v", r)
	}
	recs, err := a.st.PeekAfter(seqs[2], 10)
	if err != nil || len(recs) != 1 || recs[0].Seq != r.NewSeq {
		t.Fatalf("queue after requeue: %v %v", recs, err)
	}
	var b outbox.Batch
	if err := b.UnmarshalBinary(recs[0].Data); err != nil || b.Replaces != seqs[0] {
		t.Fatalf("requeued batch %+v %v", b, err)
	}
	r = QueueReply{}
	askSocket(t, path, `{"op":"queue-drop","seq":2}`, &r)
	if r.Error != "" || r.Stats.Dropped != 1 || r.Stats.Kept != 0 {
		t.Fatalf("drop: %+v", r)
	}
	r = QueueReply{}
	askSocket(t, path, `{"op":"queue-drop","seq":2}`, &r)
	if r.Error == "" {
		t.Fatalf("drop twice: %+v", r)
	}
}
