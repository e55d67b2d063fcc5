package agent

import (
	"context"
	"strings"
	"testing"

	"github.com/sioagent/sioagent/outbox"
)

// Status lists the oldest dead letters with their reasons, so an operator
// sees why batches were set aside without stopping the agent.
func TestStatusListsDeadLetters(t *testing.T) {
	a, _ := startTestAgent(t, newFakeHardware("GPIO27", "GPIO17"))
	var seqs []uint64
	for i := range deadLetterSample + 2 {
		seq, err := outbox.Enqueue(context.Background(), a.st, 1, "application/octet-stream", []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
	}
	for _, seq := range seqs {
		if err := a.st.DeadLetter(seq, "refused: bad_request"); err != nil {
			t.Fatal(err)
		}
	}
	s := a.Status()
	if s.Outbox.DeadLetters != uint64(len(seqs)) || len(s.Outbox.DeadLetterSample) != deadLetterSample {
		t.Fatalf("status: %d dead letters, sample %v", s.Outbox.DeadLetters, s.Outbox.DeadLetterSample)
	}
	for i, d := range s.Outbox.DeadLetterSample {
		if d.Seq != seqs[i] || !strings.Contains(d.Reason, "bad_request") || d.At.IsZero() {
			t.Errorf("sample %d: %+v, want seq %d with its reason", i, d, seqs[i])
		}
	}
	if line := s.statusLine(); !strings.Contains(line, "outbox 0 queued, 7 dead letters") {
		t.Errorf("STATUS= line %q", line)
	}
}
