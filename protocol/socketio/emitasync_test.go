package socketio_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/protocol/socketio"
)

// Events emitted one after the other with EmitWithAckAsync leave in that
// order while all of them wait for their acks, and each gets its own ack.
func TestEmitWithAckAsyncKeepsOrder(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		const n = 2000
		srv := nodeserver.Start(t, nodeserver.Options{})
		_, s := m.connect(t, srv, "/", nil, nil)
		ctx := ctxT(t)
		pending := make([]*socketio.PendingAck, 0, n)
		for i := range n {
			pa, err := s.EmitWithAckAsync(ctx, "ack-count", i)
			if err != nil {
				t.Fatalf("emit %d: %v", i, err)
			}
			pending = append(pending, pa)
		}
		for i, pa := range pending {
			reply, err := pa.Result()
			if err != nil {
				t.Fatalf("ack %d: %v", i, err)
			}
			if got, err := socketio.Arg[int](reply, 0); err != nil || got != i {
				t.Fatalf("ack %d carries %d (%v)", i, got, err)
			}
			select {
			case <-pa.Done():
			default:
				t.Fatal("Done is not closed after Result returned")
			}
		}
		reply, err := s.EmitWithAck(ctx, "count-stats")
		if err != nil {
			t.Fatal(err)
		}
		var st struct{ Received, OutOfOrder int }
		if err := reply.Decode(0, &st); err != nil {
			t.Fatal(err)
		}
		if st.Received != n || st.OutOfOrder != 0 {
			t.Fatalf("server saw %+v, want %d in order", st, n)
		}
	})
}

// EmitWithAckAsync fails at once when the event cannot be queued, and its
// PendingAck ends with ErrAckTimeout (context or AckTimeout) or
// ErrDisconnected like EmitWithAck.
func TestEmitWithAckAsyncErrors(t *testing.T) {
	off := newClient(t, "http://127.0.0.1:1", nil).Socket("/", &socketio.SocketOptions{SendBuffer: -1})
	if _, err := off.EmitWithAckAsync(context.Background(), "x"); !errors.Is(err, socketio.ErrNotConnected) {
		t.Fatalf("not connected: got %v, want ErrNotConnected", err)
	}
	if _, err := off.EmitWithAckAsync(context.Background(), "connect"); !errors.Is(err, socketio.ErrReservedEvent) {
		t.Fatalf("reserved: got %v, want ErrReservedEvent", err)
	}

	srv := nodeserver.Start(t, nodeserver.Options{})
	_, s := connect(t, srv, "/", &socketio.SocketOptions{AckTimeout: 150 * time.Millisecond}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	byCtx, err := s.EmitWithAckAsync(ctx, "slow-echo", 1000, "late")
	if err != nil {
		t.Fatal(err)
	}
	byOption, err := s.EmitWithAckAsync(context.Background(), "echo-event", "never acked")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := byCtx.Result(); !errors.Is(err, socketio.ErrAckTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("context: got %v, want ErrAckTimeout", err)
	}
	if _, err := byOption.Result(); !errors.Is(err, socketio.ErrAckTimeout) {
		t.Fatalf("AckTimeout: got %v, want ErrAckTimeout", err)
	}

	_, s2 := connect(t, srv, "/", nil, nil)
	pa, err := s2.EmitWithAckAsync(ctxT(t), "slow-echo", 5000, "pending")
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Emit(ctxT(t), "disconnect-me"); err != nil {
		t.Fatal(err)
	}
	if _, err := pa.Result(); !errors.Is(err, socketio.ErrDisconnected) {
		t.Fatalf("disconnected: got %v, want ErrDisconnected", err)
	}
}
