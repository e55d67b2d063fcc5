package socketio_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/protocol/socketio"
)

// stillBlocked is how long a waiter that must not be released is watched.
// A waiter released wrongly returns within microseconds; this only bounds
// how long the test looks.
const stillBlocked = 200 * time.Millisecond

// waitAsync runs WaitConnected in a goroutine and delivers its result.
func waitAsync(ctx context.Context, s *socketio.Socket) <-chan error {
	done := make(chan error, 1)
	go func() { done <- s.WaitConnected(ctx) }()
	return done
}

// isClosed reports whether ch is closed, without blocking.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func mustBlock(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s: WaitConnected returned %v while the socket was not connected", what, err)
	case <-time.After(stillBlocked):
	}
}

// A waiter started before Connect is released by the connection; while
// the link is down (the client reconnecting) a new waiter blocks and the
// channel is a new, open one; the reconnection releases it.
func TestWaitConnectedFollowsTheConnection(t *testing.T) {
	_, p, c, log := proxied(t, nodeserver.Options{}, socketio.Options{})
	s := c.Socket("/", nil)
	up := s.WhenConnected()
	if isClosed(up) {
		t.Fatal("WhenConnected closed before Connect")
	}
	early := waitAsync(ctxT(t), s)
	mustBlock(t, early, "before Connect")
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, early, "the waiter started before Connect"); err != nil {
		t.Fatalf("WaitConnected after the connection: %v", err)
	}
	if !isClosed(up) || !isClosed(s.WhenConnected()) {
		t.Fatal("WhenConnected open while connected")
	}

	p.SetRefuse(true)
	p.Cut()
	log.next(t, socketio.StatusDisconnected)
	down := s.WhenConnected()
	if isClosed(down) || !isClosed(up) {
		t.Fatalf("after the disconnection: new channel closed %v, old one closed %v; want open, closed", isClosed(down), isClosed(up))
	}
	blocked := waitAsync(ctxT(t), s)
	mustBlock(t, blocked, "while reconnecting")
	p.SetRefuse(false)
	if err := wait(t, blocked, "the waiter blocked during the outage"); err != nil {
		t.Fatalf("WaitConnected after the reconnection: %v", err)
	}
	if !isClosed(down) {
		t.Fatal("the reconnection did not close the channel taken during the outage")
	}
}

// A server DISCONNECT leaves the socket inactive: waiters stay blocked
// (they are not told the socket gave up) until the application connects
// it again.
func TestWaitConnectedOutlastsAServerDisconnect(t *testing.T) {
	_, _, c, log := proxied(t, nodeserver.Options{}, socketio.Options{})
	s := c.Socket("/", nil)
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := s.Emit(ctxT(t), "disconnect-me"); err != nil {
		t.Fatal(err)
	}
	log.next(t, socketio.StatusDisconnected)
	blocked := waitAsync(ctxT(t), s)
	mustBlock(t, blocked, "after a server DISCONNECT")
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, blocked, "the waiter"); err != nil {
		t.Fatalf("WaitConnected: %v", err)
	}
}

// The context ends a wait with its error.
func TestWaitConnectedEndsWithTheContext(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1", nil)
	s := c.Socket("/", nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := waitAsync(ctx, s)
	mustBlock(t, done, "before the cancel")
	cancel()
	if err := wait(t, done, "the cancelled waiter"); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitConnected = %v, want context.Canceled", err)
	}
	expired, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := s.WaitConnected(expired); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitConnected = %v, want context.DeadlineExceeded", err)
	}
}

// Client.Close releases the waiters with ErrClosed, connected before or
// not, and later waits fail at once.
func TestCloseReleasesWaiters(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	c, s := connect(t, srv, "/", nil, nil)
	never := c.Socket("/no", nil) // refused: never connects
	if err := never.Connect(ctxT(t)); err == nil {
		t.Fatal("/no connected")
	}
	done := waitAsync(context.Background(), never)
	mustBlock(t, done, "a refused socket")
	c.Close()
	if err := wait(t, done, "the waiter at Close"); !errors.Is(err, socketio.ErrClosed) {
		t.Fatalf("WaitConnected at Close = %v, want ErrClosed", err)
	}
	if err := s.WaitConnected(context.Background()); !errors.Is(err, socketio.ErrClosed) {
		t.Fatalf("WaitConnected after Close = %v, want ErrClosed", err)
	}
	if isClosed(s.WhenConnected()) {
		t.Fatal("WhenConnected closed after Close: the socket is not connected")
	}
}
