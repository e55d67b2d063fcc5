package socketio_test

import (
	"testing"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/protocol/socketio"
)

// ackDelays are the server-side delays, in milliseconds, of the acks of
// TestAcksAnsweredOutOfOrder: the later an event is sent, the sooner it is
// acked, so the acks arrive in the reverse order of the emits.
var ackDelays = []int{800, 600, 400, 200, 0}

// TestAcksAnsweredOutOfOrder keeps several acks pending and has the server
// answer them in the reverse order (slow-echo): each EmitWithAckAsync must
// get the reply to its own ack id, not that of the oldest pending one, and
// At must tell when each arrived, not when it was looked at.
func TestAcksAnsweredOutOfOrder(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	_, s := connect(t, srv, "/", &socketio.SocketOptions{AckTimeout: testTimeout}, nil)
	pending := make([]*socketio.PendingAck, len(ackDelays))
	for i, ms := range ackDelays {
		a, err := s.EmitWithAckAsync(ctxT(t), "slow-echo", ms, i)
		if err != nil {
			t.Fatalf("emit %d: %v", i, err)
		}
		pending[i] = a
	}
	if at := pending[0].At(); !at.IsZero() {
		t.Errorf("At() = %v before the ack (due in %d ms) arrived, want the zero time", at, ackDelays[0])
	}
	for i, a := range pending {
		reply, err := a.Result()
		if err != nil {
			t.Fatalf("ack %d: %v", i, err)
		}
		var got int
		if err := reply.Scan(&got); err != nil {
			t.Fatalf("ack %d: %v", i, err)
		}
		if got != i {
			t.Errorf("emit %d (acked after %d ms) got the reply of emit %d", i, ackDelays[i], got)
		}
	}
	// The acks were read in emit order, oldest (and last to arrive) first.
	for i := 1; i < len(pending); i++ {
		if !pending[i].At().Before(pending[i-1].At()) {
			t.Errorf("ack %d (after %d ms) At %v, not before ack %d (after %d ms) At %v",
				i, ackDelays[i], pending[i].At(), i-1, ackDelays[i-1], pending[i-1].At())
		}
	}
}
