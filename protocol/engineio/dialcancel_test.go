package engineio

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// A WebSocket dial to a server that accepts the TCP connection but never
// answers the upgrade (a link gone silent) ends when its context is
// cancelled, not after HandshakeTimeout: gorilla/websocket only honours
// the context's deadline, so Client.Close used to wait the full timeout.
func TestWebSocketDialEndsOnCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held <- c // accepted, never answered
		}
	}()
	defer func() {
		for len(held) > 0 {
			(<-held).Close()
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := Dial(ctx, "http://"+ln.Addr().String(), &Options{HandshakeTimeout: time.Minute})
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Dial = %v, want an error matching context.Canceled", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("Dial took %s after cancel", took)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Dial still blocked 10 s after its context was cancelled")
	}
}
