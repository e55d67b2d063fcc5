package socketio_test

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/protocol/engineio"
	"github.com/sioagent/sioagent/protocol/socketio"
)

// Bounds of the memory tests. They are bounds, not measurements: the
// figures the tests log are well below them, and the unbounded client they
// guard against went far above (see each test).
const (
	// floodHeapBound is the most the live heap may grow while the server
	// floods a client whose handler blocks.
	floodHeapBound = 16 << 20
	// giantFrameHeapBound is the most the live heap may grow while the
	// server sends a frame far over the read limit: reading a message grows
	// its buffer by doubling up to the read limit, and the smaller buffers
	// are garbage until the next collection, so a few times the limit.
	giantFrameHeapBound = 6 * engineio.DefaultReadLimit
	// heapSampleEvery is the period of the heap sampler.
	heapSampleEvery = time.Millisecond
	// floodEvents and floodCommands are the size of the flood.
	floodEvents, floodCommands = 100_000, 10_000
	// giantFrame is the size of the giant frame: four times the default
	// read limit.
	giantFrame = 64 << 20
	// giantChunk is how much of the giant frame the fake server writes at
	// a time, so that the server side holds little of it.
	giantChunk = 64 << 10
)

// heapSampler records the peak of the live heap (the bytes of heap objects,
// runtime/metrics) above its value when it started.
type heapSampler struct {
	base uint64
	stop chan struct{}
	done chan struct{}
	peak uint64
}

const heapMetric = "/memory/classes/heap/objects:bytes"

func heapNow() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	runtime.GC()
	h := &heapSampler{base: heapNow(), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		t := time.NewTicker(heapSampleEvery)
		defer t.Stop()
		for {
			if v := heapNow(); v > h.peak {
				h.peak = v
			}
			select {
			case <-t.C:
			case <-h.stop:
				return
			}
		}
	}()
	return h
}

// growth stops the sampler and returns the peak growth of the heap.
func (h *heapSampler) growth() uint64 {
	close(h.stop)
	<-h.done
	if h.peak < h.base {
		return 0
	}
	return h.peak - h.base
}

func mb(n uint64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }

// blocker is a handler that blocks on its first event until release.
type blocker struct {
	once    sync.Once
	blocked chan struct{} // closed once the handler blocks
	free    chan struct{}
}

func newBlocker() *blocker {
	return &blocker{blocked: make(chan struct{}), free: make(chan struct{})}
}

func (b *blocker) handle(*socketio.Event) {
	b.once.Do(func() {
		close(b.blocked)
		<-b.free
	})
}

func (b *blocker) release() {
	select {
	case <-b.free:
	default:
		close(b.free)
	}
}

// waitUntil polls cond until it holds, or fails the test after
// testTimeout.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDispatchQueueBoundedUnderFlood floods a client whose handler blocks
// with 100,000 events and 10,000 events with acks (commands) from the real
// server. The dispatcher queue fills up to DefaultMaxQueuedEvents, the
// connection is closed with ErrDispatchQueueFull (counted in Stats) instead
// of queueing everything, the heap stays within floodHeapBound, and once
// the handler is free the manager reconnects. An unbounded queue took the
// whole flood: the flood's ack then arrived, and the heap grew past the
// bound.
func TestDispatchQueueBoundedUnderFlood(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	b := newBlocker()
	defer b.release()
	c, s := connect(t, srv, "/", nil, func(s *socketio.Socket) { s.OnAny(b.handle) })
	wait(t, b.blocked, "the handler to block (on the welcome event)")
	heap := startHeapSampler()
	_, err := s.EmitWithAck(ctxT(t), "flood", floodEvents, floodCommands)
	growth := heap.growth()
	t.Logf("flood of %d events and %d commands, handler blocked: heap grew by at most %s", floodEvents, floodCommands, mb(growth))
	if !errors.Is(err, socketio.ErrDisconnected) || !errors.Is(err, socketio.ErrDispatchQueueFull) {
		t.Errorf("flood: %v, want the connection closed with ErrDispatchQueueFull", err)
	}
	if growth > floodHeapBound {
		t.Errorf("heap grew by %s, bound %s", mb(growth), mb(floodHeapBound))
	}
	st := c.Stats()
	if st.DispatchQueueFull == 0 || st.QueuedEvents > socketio.DefaultMaxQueuedEvents || st.QueuedBytes > socketio.DefaultMaxQueuedBytes {
		t.Errorf("stats %+v: want an overflow counted and at most %d events queued", st, socketio.DefaultMaxQueuedEvents)
	}
	b.release()
	waitUntil(t, "the queue to drain and the socket to reconnect", func() bool {
		return c.Stats().QueuedEvents == 0 && s.Connected()
	})
	reply, err := s.EmitWithAck(ctxT(t), "echo", "after")
	if err != nil {
		t.Fatalf("echo after the flood: %v", err)
	}
	jsonEq(t, reply.Raw(0), `"after"`)
}

// TestDispatchQueueByteBound checks the byte bound: with room for many
// events but few bytes, large events overflow it.
func TestDispatchQueueByteBound(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	b := newBlocker()
	defer b.release()
	c := newClient(t, srv.URL(), &socketio.Options{MaxQueuedBytes: 10_000})
	s := c.Socket("/", nil)
	s.OnAny(b.handle)
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 1000)
	for i := range big {
		big[i] = 'x'
	}
	for i := 0; c.Stats().DispatchQueueFull == 0; i++ {
		if i > 100 {
			t.Fatalf("no overflow after %d events of 1000 bytes; stats %+v", i, c.Stats())
		}
		s.Emit(ctxT(t), "echo-event", string(big))
		time.Sleep(time.Millisecond)
	}
	if st := c.Stats(); st.QueuedBytes > 10_000 {
		t.Errorf("stats %+v: more than 10000 bytes queued", st)
	}
}

// TestPreConnectQueueBounded sends more events before the CONNECT reply
// than MaxQueuedEvents allows: the client closes the connection with
// ErrPreConnectQueueFull, counts it and connects on the next one.
func TestPreConnectQueueBounded(t *testing.T) {
	const limit = 50
	f := newFakeServer(t)
	statuses := make(chan socketio.Status, 100)
	c := newClient(t, f.url(), &socketio.Options{
		MaxQueuedEvents: limit,
		ReconnectDelay:  10 * time.Millisecond,
		OnStatus:        func(st socketio.Status) { statuses <- st },
	})
	s := c.Socket("/", nil)
	s.On("x", func(*socketio.Event) {})
	f.script(func() {
		conn, ok := f.accept()
		if !ok {
			return
		}
		if _, ok := conn.await("40"); !ok {
			return
		}
		for i := 0; i <= limit; i++ { // one too many
			conn.send(fmt.Sprintf(`42["x",%d]`, i))
		}
		f.acceptConnect("second")
	})
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatalf("connect: %v", err)
	}
	var reconnecting *socketio.Status
	for reconnecting == nil {
		if st := wait(t, statuses, "StatusReconnecting"); st.Kind == socketio.StatusReconnecting {
			reconnecting = &st
		}
	}
	if !errors.Is(reconnecting.Err, socketio.ErrPreConnectQueueFull) {
		t.Errorf("reconnecting after %v, want ErrPreConnectQueueFull", reconnecting.Err)
	}
	if st := c.Stats(); st.PreConnectQueueFull != 1 || st.DispatchQueueFull != 0 {
		t.Errorf("stats %+v, want one pre-CONNECT overflow", st)
	}
	if s.ID() != "second" {
		t.Errorf("socket id %q, want the second connection's", s.ID())
	}
}

// absurdHandshake announces a maxPayload of 2^40 bytes.
const absurdHandshake = `0{"sid":"fake","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1099511627776}`

// TestGiantFrameAfterAbsurdMaxPayload has a server announce a maxPayload of
// 2^40 and then send a 64 MiB event: the client's read limit
// (DefaultReadLimit, not raised by the handshake) ends the connection, the
// heap stays within giantFrameHeapBound, and the client reconnects. A
// client that took the maxPayload as its read limit read the whole frame
// and decoded it.
func TestGiantFrameAfterAbsurdMaxPayload(t *testing.T) {
	f := newFakeServerOpen(t, absurdHandshake)
	got := make(chan struct{}, 1)
	statuses := make(chan socketio.Status, 100)
	c := newClient(t, f.url(), &socketio.Options{
		ReconnectDelay: 10 * time.Millisecond,
		OnStatus:       func(st socketio.Status) { statuses <- st },
	})
	s := c.Socket("/", nil)
	s.On("big", func(*socketio.Event) { got <- struct{}{} })
	heap := startHeapSampler()
	f.script(func() {
		conn, ok := f.acceptConnect("first")
		if !ok {
			return
		}
		conn.sendGiant(`42["big","`, giantFrame, `"]`)
		f.acceptConnect("second")
	})
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatalf("connect: %v", err)
	}
	var dropped error
	delivered := false
	for dropped == nil && !delivered {
		select {
		case st := <-statuses:
			if st.Kind == socketio.StatusDisconnected {
				dropped = st.Err
			}
		case <-got:
			delivered = true
		case <-time.After(testTimeout):
			t.Fatal("timed out waiting for StatusDisconnected")
		}
	}
	growth := heap.growth()
	t.Logf("64 MiB frame after maxPayload 2^40: heap grew by at most %s; disconnected: %v", mb(growth), dropped)
	if growth > giantFrameHeapBound {
		t.Errorf("heap grew by %s, bound %s", mb(growth), mb(giantFrameHeapBound))
	}
	if delivered {
		t.Fatal("the giant event was delivered")
	}
	if !errors.Is(dropped, websocket.ErrReadLimit) {
		t.Errorf("disconnected with %v, want the read limit", dropped)
	}
	waitUntil(t, "the reconnection", func() bool { return s.ID() == "second" })
}

// sendGiant writes one text message of prefix, n bytes of 'x' and suffix,
// in chunks, so that the server never holds the whole of it. It stops at
// the first write error (the client closed the connection).
func (c *fakeConn) sendGiant(prefix string, n int, suffix string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	w, err := c.ws.NextWriter(websocket.TextMessage)
	if err != nil {
		return
	}
	chunk := make([]byte, giantChunk)
	for i := range chunk {
		chunk[i] = 'x'
	}
	if _, err := w.Write([]byte(prefix)); err != nil {
		return
	}
	for sent := 0; sent < n; sent += len(chunk) {
		if _, err := w.Write(chunk[:min(len(chunk), n-sent)]); err != nil {
			return
		}
	}
	w.Write([]byte(suffix))
	w.Close()
}
