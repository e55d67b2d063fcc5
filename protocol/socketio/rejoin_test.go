package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/protocol/socketio"
)

// With Rejoin, a server DISCONNECT is followed by a rejoin after the first
// reconnection delay; the delays start again once the socket connected.
func TestRejoinAfterServerDisconnect(t *testing.T) {
	_, _, c, log := proxied(t, nodeserver.Options{}, socketio.Options{})
	// OnConnect runs on the dispatcher, after the status is reported:
	// the test counts the calls through a channel, not a counter read
	// right after the status.
	connects := make(chan struct{}, 3)
	s := c.Socket("/", &socketio.SocketOptions{Rejoin: true, OnConnect: func(bool) { connects <- struct{}{} }})
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	waitConnect := func(which string) {
		t.Helper()
		select {
		case <-connects:
		case <-time.After(testTimeout):
			t.Fatalf("OnConnect did not run for %s", which)
		}
	}
	waitConnect("the Connect")
	for round := 1; round <= 2; round++ {
		if err := s.Emit(ctxT(t), "disconnect-me"); err != nil {
			t.Fatal(err)
		}
		st := log.next(t, socketio.StatusRejoining)
		if st.Attempt != 1 || st.Delay != 50*time.Millisecond || !errors.Is(st.Err, socketio.ErrServerDisconnect) || st.Namespace != "/" {
			t.Fatalf("round %d: %+v, want attempt 1 in the first delay after io server disconnect", round, st)
		}
		if err := s.WaitConnected(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		log.next(t, socketio.StatusConnected)
		waitConnect(fmt.Sprintf("rejoin %d", round))
	}
	if n := len(connects); n != 0 {
		t.Fatalf("OnConnect ran %d more times than the Connect and two rejoins", n)
	}
	if n := log.count(socketio.StatusReconnecting); n != 0 {
		t.Fatalf("the session was reconnected %d times: a rejoin needs none", n)
	}
}

// A refusal is retried with AuthFunc called again, so a refreshed token
// gets in; Connect itself still returns the refusal.
func TestRejoinAfterRefusalRefreshesAuth(t *testing.T) {
	_, _, c, log := proxied(t, nodeserver.Options{}, socketio.Options{})
	var calls atomic.Int32
	s := c.Socket("/token", &socketio.SocketOptions{Rejoin: true, AuthFunc: func(context.Context) (any, error) {
		if calls.Add(1) == 1 {
			return map[string]string{"token": "wrong"}, nil
		}
		return map[string]string{"token": "s3cret"}, nil
	}})
	var cerr *socketio.ConnectError
	if err := s.Connect(ctxT(t)); !errors.As(err, &cerr) {
		t.Fatalf("Connect = %v, want the refusal", err)
	}
	if st := log.next(t, socketio.StatusRejoining); !errors.As(st.Err, &cerr) || st.Attempt != 1 {
		t.Fatalf("rejoin status %+v, want attempt 1 after the refusal", st)
	}
	if err := s.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("AuthFunc ran %d times, want 2", n)
	}
}

// Refusals in a row back off (doubling up to the cap); Disconnect stops
// the rejoining at once.
func TestRejoinBacksOffAndDisconnectStopsIt(t *testing.T) {
	_, _, c, log := proxied(t, nodeserver.Options{}, socketio.Options{})
	s := c.Socket("/no", &socketio.SocketOptions{Rejoin: true})
	if err := s.Connect(ctxT(t)); err == nil {
		t.Fatal("/no connected")
	}
	for i, want := range []time.Duration{50, 100, 200, 400, 400} {
		st := log.next(t, socketio.StatusRejoining)
		if st.Attempt != i+1 || st.Delay != want*time.Millisecond {
			t.Fatalf("rejoin %d: attempt %d in %v, want attempt %d in %v", i+1, st.Attempt, st.Delay, i+1, want*time.Millisecond)
		}
	}
	if err := s.Disconnect(); err != nil {
		t.Fatal(err)
	}
	refusals := log.count(socketio.StatusConnectError)
	time.Sleep(time.Second) // more than two rejoin delays
	if n := log.count(socketio.StatusConnectError); n > refusals+1 {
		t.Fatalf("%d more refusals after Disconnect: still rejoining", n-refusals)
	}
}

// Without Rejoin nothing is scheduled (TestServerDisconnectAndConnectErrorAreNotRetried
// checks the socket stays down); with it, Client.Close in the middle of a
// long rejoin delay returns at once and leaves no timer behind (goleak).
func TestCloseStopsAPendingRejoin(t *testing.T) {
	_, _, c, log := proxied(t, nodeserver.Options{}, socketio.Options{ReconnectDelay: time.Hour, ReconnectDelayMax: time.Hour})
	s := c.Socket("/", &socketio.SocketOptions{Rejoin: true})
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := s.Emit(ctxT(t), "disconnect-me"); err != nil {
		t.Fatal(err)
	}
	if st := log.next(t, socketio.StatusRejoining); st.Delay != time.Hour {
		t.Fatalf("rejoin in %v, want an hour", st.Delay)
	}
	start := time.Now()
	c.Close()
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Close took %v with a rejoin pending", took)
	}
	if err := s.WaitConnected(ctxT(t)); !errors.Is(err, socketio.ErrClosed) {
		t.Fatalf("WaitConnected after Close = %v", err)
	}
}
