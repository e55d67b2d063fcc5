package outbox_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/store"
)

// offlineWatch is how long TestRunWaitsForTheSocketAndRunsOnce watches an
// offline drainer before checking it sent nothing.
const offlineWatch = 300 * time.Millisecond

// offlineSocket is a socket that never connects (nothing listens on port 1
// and Connect is never called).
func offlineSocket(t *testing.T) *socketio.Socket {
	c, err := socketio.New("http://127.0.0.1:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.Socket("/", &socketio.SocketOptions{SendBuffer: -1})
}

func TestNewDrainerValidates(t *testing.T) {
	st, _ := openStore(t)
	sock := offlineSocket(t)
	for _, opts := range []*outbox.Options{nil, {}, {DeviceID: "d", Window: -1}, {DeviceID: "d", AckTimeout: -time.Second}} {
		if _, err := outbox.NewDrainer(st, sock, opts); err == nil {
			t.Errorf("NewDrainer accepted %+v", opts)
		}
	}
	if _, err := outbox.NewDrainer(nil, sock, &outbox.Options{DeviceID: "d"}); err == nil {
		t.Error("NewDrainer accepted a nil store")
	}
	opts := outbox.Options{DeviceID: "d"}
	if _, err := outbox.NewDrainer(st, sock, &opts); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(opts, outbox.Options{DeviceID: "d"}) {
		t.Errorf("NewDrainer modified the caller's options: %+v", opts)
	}
}

// A drainer whose socket is not connected sends nothing and waits; a
// second Run is refused; Run returns ctx.Err() when ctx ends.
func TestRunWaitsForTheSocketAndRunsOnce(t *testing.T) {
	st, _ := openStore(t)
	produce(t, st, 10, 1)
	d, err := outbox.NewDrainer(st, offlineSocket(t), &outbox.Options{DeviceID: "d"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	time.Sleep(offlineWatch) // a drainer that sent while offline would have by now
	d.Wake()
	if err := d.Run(ctx); !errors.Is(err, outbox.ErrRunning) {
		t.Errorf("second Run: %v, want ErrRunning", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	if s := d.Stats(); s.Sent != 0 || st.Stats().Count != 10 {
		t.Errorf("offline drainer sent %d records; %d left queued", s.Sent, st.Stats().Count)
	}
}

// Run returns when the store is closed under it.
func TestRunEndsWhenTheStoreCloses(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	st, _ := openStore(t)
	dev := newDevice(t, srv.URL(), st, outbox.Options{DeviceID: "closing"})
	dev.waitConnected(t)
	done := make(chan error, 1)
	go func() { done <- dev.d.Run(context.Background()) }()
	produce(t, st, 20, 1)
	waitFor(t, "the drain", func() bool { return dev.d.Stats().Acked == 20 })
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, store.ErrClosed) {
			t.Fatalf("Run returned %v, want store.ErrClosed", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Run did not return after the store was closed")
	}
}
