package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sioagent/sioagent/protocol/socketio"
)

// waitState waits, through the Changed chain, for a state of kind k.
func waitState(t *testing.T, s *socketio.Socket, k socketio.StateKind) socketio.State {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		st := s.State()
		if st.Kind == k {
			return st
		}
		select {
		case <-st.Changed:
		case <-deadline:
			t.Fatalf("state %v, want %v", st, k)
		}
	}
}

// Regression: a second DISCONNECT for a socket the server already let go
// (a stray packet) leaves its pending rejoin alone. It used to cancel it,
// so a Rejoin socket never connected again.
func TestStrayDisconnectKeepsThePendingRejoin(t *testing.T) {
	f := newFakeServer(t)
	c := newClient(t, f.url(), &socketio.Options{ReconnectDelay: time.Hour, ReconnectDelayMax: time.Hour, RandomizationFactor: -1})
	s := c.Socket("/", &socketio.SocketOptions{Rejoin: true})
	other := c.Socket("/other", nil) // keeps the session open
	other.On("q", func(e *socketio.Event) { e.Ack() })
	f.script(func() {
		if c, ok := f.acceptConnect("a"); ok {
			if _, ok := c.await("40/other,"); ok {
				c.send(`40/other,{"sid":"b"}`)
			}
		}
	})
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := other.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	conn := f.conn(0)
	conn.send("41")
	if st := waitState(t, s, socketio.StateReconnecting); st.Delay != time.Hour {
		t.Fatalf("after the DISCONNECT: %v, want a rejoin in 1h", st)
	}
	before := s.State()
	conn.send("41")              // stray
	conn.send(`42/other,7["q"]`) // its ack proves the reader went past the DISCONNECT
	conn.expect(t, "43/other,7")
	if st := s.State(); st.Kind != socketio.StateReconnecting {
		t.Errorf("after a stray DISCONNECT: %v, want still reconnecting", st)
	}
	select {
	case <-before.Changed:
		t.Errorf("the stray DISCONNECT changed the state to %v", s.State())
	default:
	}
}

// Regression: an AuthFunc error that wraps ErrServerDisconnect or a
// *ConnectError does not make the socket look like a server refusal with
// a rejoin that nothing starts: the socket is disconnected with that
// error, and WaitConnected does not hang on a rejoin that never comes.
func TestAuthErrorLooksLikeNoRefusal(t *testing.T) {
	f := newFakeServer(t)
	c := newClient(t, f.url(), &socketio.Options{ReconnectDelay: 10 * time.Millisecond, RandomizationFactor: -1})
	s := c.Socket("/", &socketio.SocketOptions{Rejoin: true, AuthFunc: func(context.Context) (any, error) {
		return nil, fmt.Errorf("token store: %w", socketio.ErrServerDisconnect)
	}})
	f.script(func() { f.accept() })
	err := s.Connect(ctxT(t))
	if !errors.Is(err, socketio.ErrServerDisconnect) {
		t.Fatalf("Connect = %v, want the AuthFunc's error", err)
	}
	if st := waitState(t, s, socketio.StateDisconnected); st.Delay != 0 || !errors.Is(st.Err, socketio.ErrServerDisconnect) {
		t.Errorf("state %v, want disconnected by the AuthFunc's error, no rejoin", st)
	}
}

// Regression: a Connect racing Close (it passed Close's check first) does
// not wake the socket again once Close has run: the state stays final.
func TestConnectAfterCloseKeepsTheFinalState(t *testing.T) {
	c, err := socketio.New("http://127.0.0.1:1", &socketio.Options{NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Socket("/", nil)
	c.Close()
	final := s.State()
	if final.Kind != socketio.StateDisconnected || !errors.Is(final.Err, socketio.ErrClosed) {
		t.Fatalf("after Close: %v", final)
	}
	if err := socketio.ConnectAfterClose(s, ctxT(t)); !errors.Is(err, socketio.ErrClosed) {
		t.Errorf("Connect after Close = %v, want ErrClosed", err)
	}
	select {
	case <-final.Changed:
		t.Errorf("the state changed after Close: %v", s.State())
	default:
	}
}
