package socketio_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioagent/sioagent/protocol/socketio"
)

// fastClient is a client of the fake server that reconnects at once.
func fastClient(t *testing.T, f *fakeServer, o socketio.Options) *socketio.Client {
	return newClient(t, f.url(), fastReconnect(&o))
}

// Regression: a server DISCONNECT in the middle of the flush of the send
// buffer fails every emit that waited there, at once; none is left hanging
// and nothing more is sent for the namespace.
func TestServerDisconnectDuringFlushFailsEveryWaitingEmit(t *testing.T) {
	f := newFakeServer(t)
	c := fastClient(t, f, socketio.Options{})
	s := c.Socket("/", nil)
	f.script(func() { f.acceptConnect("a") })
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	f.conn(0).ws.Close() // the link drops; emits now wait in the buffer
	deadline := time.Now().Add(testTimeout)
	for s.Connected() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	const n = 200
	padding := strings.Repeat("x", 50_000)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.EmitWithAck(ctx, "reading", i, padding) // big: the flush takes a while
			errs <- err
		}()
	}
	time.Sleep(100 * time.Millisecond) // all 200 are in the buffer
	conn := f.next()
	conn.expect(t, "40")
	conn.send(`40{"sid":"b"}`)
	conn.expect(t, "42")
	conn.send(`41`) // the server leaves the namespace after the first event
	start := time.Now()
	wg.Wait()
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the waiting emits took %v to fail: some hung until their context ended", took)
	}
	close(errs)
	for err := range errs {
		if !errors.Is(err, socketio.ErrDisconnected) && !errors.Is(err, socketio.ErrNotConnected) {
			t.Fatalf("emit after the server left: %v", err)
		}
	}
}

// Regression: a namespace the server connected after its socket gave up is
// left (DISCONNECT) before a new CONNECT for it goes out; two CONNECTs in a
// row would make the Node server close the whole session. A slow AuthFunc
// keeps the manager busy so that both are due in the same pass.
func TestGoodbyeGoesBeforeTheNextConnect(t *testing.T) {
	f := newFakeServer(t)
	c := fastClient(t, f, socketio.Options{})
	main := c.Socket("/", nil)
	late := c.Socket("/late", nil)
	slow := c.Socket("/slow", &socketio.SocketOptions{AuthFunc: func(context.Context) (any, error) {
		time.Sleep(500 * time.Millisecond)
		return nil, nil
	}})
	f.script(func() { f.acceptConnect("a") })
	if err := main.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	conn := f.conn(0)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := late.Connect(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("connect without a reply: %v", err)
	}
	conn.expect(t, "40/late,")
	late.Disconnect()
	go slow.Connect(ctxT(t))
	time.Sleep(100 * time.Millisecond) // the manager is in the slow AuthFunc
	conn.send(`40/late,{"sid":"x"}`)   // the reply comes after all
	time.Sleep(100 * time.Millisecond) // and is read while the manager is busy
	connected := make(chan error, 1)
	go func() { connected <- late.Connect(ctxT(t)) }()
	var frames []string
	for len(frames) < 3 {
		frames = append(frames, conn.expect(t, "4"))
	}
	goodbye, again := -1, -1
	for i, fr := range frames {
		switch fr {
		case "41/late,":
			goodbye = i
		case "40/late,":
			again = i
		}
	}
	if goodbye < 0 || again < goodbye {
		t.Fatalf("client sent %q: want the DISCONNECT for /late before its new CONNECT", frames)
	}
	conn.send(`40/late,{"sid":"y"}`)
	if err := <-connected; err != nil {
		t.Fatal(err)
	}
}

// Regression: the connection is reported before any event that arrives
// after the CONNECT reply.
func TestConnectReportedBeforeLaterEvents(t *testing.T) {
	f := newFakeServer(t)
	var mu sync.Mutex
	var order []string
	note := func(s string) {
		mu.Lock()
		order = append(order, s)
		mu.Unlock()
	}
	c := fastClient(t, f, socketio.Options{OnStatus: func(st socketio.Status) {
		if st.Kind == socketio.StatusConnected {
			note("connected")
		}
	}})
	s := c.Socket("/", &socketio.SocketOptions{OnConnect: func(bool) { note("OnConnect") }})
	got := make(chan struct{})
	s.On("hi", func(*socketio.Event) { note("hi"); close(got) })
	f.script(func() {
		if conn, ok := f.acceptConnect("a"); ok {
			conn.send(`42["hi"]`)
		}
	})
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	wait(t, got, "hi")
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(order, ",") != "connected,OnConnect,hi" {
		t.Fatalf("order %v", order)
	}
}

// Regression: ReconnectAttempts counts failed attempts in a row; a server
// that accepts and then drops every connection is not given up on.
func TestReconnectAttemptsCountOnlyFailures(t *testing.T) {
	f := newFakeServer(t)
	log := newStatusLog()
	c := fastClient(t, f, socketio.Options{ReconnectAttempts: 2, StableAfter: time.Minute, OnStatus: log.record})
	s := c.Socket("/", nil)
	f.script(func() {
		for {
			conn, ok := f.acceptConnect("a")
			if !ok {
				return
			}
			time.Sleep(20 * time.Millisecond)
			conn.ws.Close()
		}
	})
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		log.next(t, socketio.StatusDisconnected)
	}
	if n := log.count(socketio.StatusReconnectFailed); n != 0 {
		t.Fatalf("gave up on a server that accepts every connection: %v", log.kinds())
	}
}

// An EmitWithAck that gave up while waiting in the send buffer is not sent
// when the socket reconnects.
func TestTimedOutBufferedEmitIsNotSentLater(t *testing.T) {
	f := newFakeServer(t)
	c := fastClient(t, f, socketio.Options{ReconnectDelay: 300 * time.Millisecond})
	s := c.Socket("/", nil)
	f.script(func() { f.acceptConnect("a") })
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	f.conn(0).ws.Close()
	for s.Connected() {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.EmitWithAck(ctx, "stale"); !errors.Is(err, socketio.ErrAckTimeout) {
		t.Fatalf("got %v", err)
	}
	conn := f.next()
	conn.expect(t, "40")
	conn.send(`40{"sid":"b"}`)
	if err := s.Emit(ctxT(t), "fresh"); err != nil {
		t.Fatal(err)
	}
	if frame := conn.expect(t, "42"); !strings.Contains(frame, "fresh") {
		t.Fatalf("the timed-out emit went out after all: %s", frame)
	}
}

// Regression: Close is prompt even while the send buffer is being flushed
// into a link that accepts nothing.
func TestCloseIsPromptDuringAStalledFlush(t *testing.T) {
	f := newFakeServer(t)
	c, err := socketio.New(f.url(), fastReconnect(&socketio.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Socket("/", &socketio.SocketOptions{SendBuffer: 400})
	f.script(func() { f.acceptConnect("a") })
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	f.conn(0).ws.Close()
	for s.Connected() {
		time.Sleep(5 * time.Millisecond)
	}
	big := make([]byte, 60_000)
	for range 400 { // 24 MB: far more than the socket buffers hold
		if err := s.Emit(ctxT(t), "blob", string(big)); err != nil {
			t.Fatal(err)
		}
	}
	conn := f.next()
	conn.expect(t, "40")
	conn.stall() // the server stops reading from here on
	conn.send(`40{"sid":"b"}`)
	time.Sleep(500 * time.Millisecond) // the flush is stuck
	start := time.Now()
	c.Close()
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Close took %v during a stalled flush", took)
	}
}
