package socketio_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/protocol/engineio"
	"github.com/sioagent/sioagent/protocol/socketio"
)

// Regression: a Connect that gave up while its CONNECT was in flight must
// not send a second CONNECT for the namespace later (the Node server closes
// the whole session for that, dropping every other namespace).
func TestConnectGivenUpThenRetriedKeepsTheSession(t *testing.T) {
	_, p, c, log := proxied(t, nodeserver.Options{}, socketio.Options{})
	main := c.Socket("/", nil)
	if err := main.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	custom := c.Socket("/custom", nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Microsecond)
	defer cancel()
	if err := custom.Connect(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("first connect: %v", err)
	}
	if err := custom.Connect(ctxT(t)); err != nil {
		t.Fatalf("second connect: %v", err)
	}
	// Give up on a CONNECT for good (Disconnect) while it is in flight on
	// a slow link, then connect again before its reply has arrived.
	p.SetLatency(200 * time.Millisecond)
	token := c.Socket("/token", &socketio.SocketOptions{Auth: map[string]string{"token": "s3cret"}})
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := token.Connect(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("connect on a slow link: %v", err)
	}
	token.Disconnect()
	if err := token.Connect(ctxT(t)); err != nil {
		t.Fatalf("connect again: %v", err)
	}
	p.SetLatency(0)
	if _, err := main.EmitWithAck(ctxT(t), "echo", 1); err != nil {
		t.Fatal(err)
	}
	if n := log.count(socketio.StatusDisconnected); n != 0 {
		t.Fatalf("the session dropped: %v", log.kinds())
	}
}

// Regression: an ack for a namespace the socket has left must not reach the
// server, which would close the whole session.
func TestAckAfterDisconnectKeepsOtherNamespaces(t *testing.T) {
	_, _, c, log := proxied(t, nodeserver.Options{}, socketio.Options{})
	main := c.Socket("/", nil)
	asked := collect(main, "ack")
	custom := c.Socket("/custom", nil)
	for _, s := range []*socketio.Socket{main, custom} {
		if err := s.Connect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	if err := main.Emit(ctxT(t), "ack"); err != nil {
		t.Fatal(err)
	}
	e := wait(t, asked, "the server's question")
	if err := main.Disconnect(); err != nil {
		t.Fatal(err)
	}
	if err := e.Ack(5); !errors.Is(err, socketio.ErrNotConnected) {
		t.Fatalf("ack after Disconnect: %v", err)
	}
	if _, err := custom.EmitWithAck(ctxT(t), "echo", "still here"); err != nil {
		t.Fatalf("/custom after the late ack: %v (%v)", err, log.kinds())
	}
}

// Regression: an emit too large for the server is the caller's error, not
// a lost link; the socket stays connected.
func TestOversizedEmitIsNotADisconnection(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srv := nodeserver.Start(t, nodeserver.Options{MaxPayload: 1000})
		_, s := m.connect(t, srv, "/", nil, nil)
		_, err := s.EmitWithAck(ctxT(t), "echo", make([]byte, 2000))
		if !errors.Is(err, engineio.ErrPayloadTooLarge) || errors.Is(err, socketio.ErrDisconnected) {
			t.Fatalf("got %v, want ErrPayloadTooLarge alone", err)
		}
		if !s.Connected() {
			t.Fatal("disconnected by an oversized emit")
		}
	})
}

func TestCloseReportsClientDisconnect(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	reasons := make(chan error, 1)
	c, err := socketio.New(srv.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Socket("/", &socketio.SocketOptions{OnDisconnect: func(r error) { reasons <- r }})
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	pending := make(chan error, 1)
	go func() {
		_, err := s.EmitWithAck(ctxT(t), "slow-echo", 5000)
		pending <- err
	}()
	time.Sleep(100 * time.Millisecond)
	c.Close()
	r := wait(t, reasons, "OnDisconnect")
	if !errors.Is(r, socketio.ErrClientDisconnect) || !errors.Is(r, socketio.ErrClosed) || socketio.Reason(r) != "io client disconnect" {
		t.Fatalf("reason after Close: %v", r)
	}
	if err := wait(t, pending, "pending ack"); !errors.Is(err, socketio.ErrDisconnected) {
		t.Fatalf("pending ack after Close: %v", err)
	}
}

// The Engine.IO session closes when no namespace is left, like the
// reference Manager, and opens again for the next Connect.
func TestSessionClosesWhenNoNamespaceLeft(t *testing.T) {
	_, _, c, log := proxied(t, nodeserver.Options{}, socketio.Options{})
	s := c.Socket("/", nil)
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := s.Disconnect(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(testTimeout)
	for c.Transport() != "" {
		if time.Now().After(deadline) {
			t.Fatal("the session stayed open without a namespace")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := log.count(socketio.StatusReconnecting); n != 0 {
		t.Fatalf("an idle close was taken for a lost link: %v", log.kinds())
	}
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}
