package socketio_test

import (
	"testing"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/protocol/socketio"
)

// A handler that panics is recovered and counted: the handlers after it
// still run and the connection stays up.
func TestHandlerPanicRecovered(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	got := make(chan int, 1)
	c, s := connect(t, srv, "/", nil, func(s *socketio.Socket) {
		s.On("echo-event", func(e *socketio.Event) {
			var n int
			if err := e.Args.Decode(0, &n); err != nil {
				t.Error(err)
			}
			if n == 1 {
				panic("a bug in a handler")
			}
			got <- n
		})
	})
	s.Emit(ctxT(t), "echo-event", 1)
	s.Emit(ctxT(t), "echo-event", 2)
	if n := wait(t, got, "the event after the panic"); n != 2 {
		t.Fatalf("got %d, want 2", n)
	}
	if p := c.Stats().HandlerPanics; p != 1 {
		t.Fatalf("HandlerPanics = %d, want 1", p)
	}
	if !s.Connected() {
		t.Fatal("the panic dropped the connection")
	}
}
