package outbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/protocol/socketio"
)

// A drainer whose socket connects after Run started, and which nobody
// wakes (no OnConnect wiring), starts sending at the connection: it waits
// on Sender.WhenConnected. The Removed channel taken before closes once
// records left the queue.
func TestDrainerWaitsForTheConnectionWithoutWake(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	st, _ := openStore(t)
	produce(t, st, 10, 1)
	c, err := socketio.New(srv.URL(), fastReconnect())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sock := c.Socket("/", &socketio.SocketOptions{SendBuffer: -1})
	d, err := outbox.NewDrainer(st, sock, &outbox.Options{DeviceID: "waiter"})
	if err != nil {
		t.Fatal(err)
	}
	removed := d.Removed()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	time.Sleep(offlineWatch) // Run is waiting for the socket
	if s := d.Stats(); s.Sent != 0 {
		t.Fatalf("sent %d records before the socket connected", s.Sent)
	}
	select {
	case <-removed:
		t.Fatal("Removed closed before anything was removed")
	default:
	}
	if err := sock.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-removed:
	case <-time.After(testTimeout):
		t.Fatalf("nothing removed after the connection: %+v", d.Stats())
	}
	waitFor(t, "the drain", func() bool { return st.Stats().Count == 0 })
}
