package socketio_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/protocol/socketio"
)

// wantTables fails unless s's handler tables are empty, as on a new socket.
func wantTables(t *testing.T, s *socketio.Socket) {
	t.Helper()
	if names, catchAll := socketio.ListenerTableSizes(s); names != 0 || catchAll != 0 {
		t.Errorf("handler tables hold %d event names and %d catch-all handlers, want 0 and 0", names, catchAll)
	}
}

// TestListenerTablesDoNotGrow: 100,000 subscribe/unsubscribe cycles of
// each kind leave the tables as they started (the goroutine check of
// TestMain covers leaks).
func TestListenerTablesDoNotGrow(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1", &socketio.Options{NoReconnect: true})
	s := c.Socket("/", nil)
	const cycles = 100_000
	fn := func(*socketio.Event) {}
	for i := range cycles {
		name := fmt.Sprintf("event-%d", i%7)
		s.On(name, fn)() // removed at once
		s.Once(name, fn)()
		s.OnAny(fn)()
		keep := s.On(name, fn)
		s.On(name, fn)
		s.Off(name) // removes both
		keep()      // already removed by Off: a no-op
		s.OnAny(fn)
		s.OffAny()
	}
	wantTables(t, s)
}

// burstN is the number of events the burst tests ask the server for.
const burstN = 50

// startBurst connects a socket whose first "burst" handler blocks until
// the returned release is called, once every event of the burst, and
// "burst-done", wait on the dispatcher behind it. The setup registers the
// other handlers before the connection.
func startBurst(t *testing.T, srv *nodeserver.Server, setup func(s *socketio.Socket)) (s *socketio.Socket, release func(), done <-chan struct{}) {
	t.Helper()
	entered, unblock, finished := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	c, s := connect(t, srv, "/", nil, func(s *socketio.Socket) {
		s.On("burst", func(*socketio.Event) {
			if first.CompareAndSwap(false, true) {
				close(entered)
				<-unblock
			}
		})
		s.Once("burst-done", func(*socketio.Event) { close(finished) })
		setup(s)
	})
	if err := s.Emit(ctxT(t), "burst", burstN); err != nil {
		t.Fatal(err)
	}
	wait(t, entered, "the first burst event")
	// The dispatcher is held by the first handler: wait for the rest to
	// queue behind it (burstN-1 events and burst-done, plus the first).
	deadline := time.Now().Add(testTimeout)
	for c.Stats().QueuedEvents < burstN+1 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d events queued, want %d", c.Stats().QueuedEvents, burstN+1)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s, func() { close(unblock) }, finished
}

// TestRemovedHandlerSkipsQueuedEvents: handlers removed while events for
// them wait on the dispatcher never run for those events, whichever way
// they were removed; the event being dispatched when they were removed
// included (they come after the blocked handler in its list).
func TestRemovedHandlerSkipsQueuedEvents(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	var byFunc, byOff, byOffAny, anyFunc, kept atomic.Int64
	var removeFunc, removeAny func()
	s, release, done := startBurst(t, srv, func(s *socketio.Socket) {
		removeFunc = s.On("burst", func(*socketio.Event) { byFunc.Add(1) })
		removeAny = s.OnAny(func(e *socketio.Event) {
			if e.Name == "burst" {
				anyFunc.Add(1)
			}
		})
		s.OnAny(func(e *socketio.Event) {
			if e.Name == "burst" {
				byOffAny.Add(1)
			}
		})
		s.On("burst-done", func(*socketio.Event) {}) // not removed by Off("burst")
		s.On("burst", func(*socketio.Event) { kept.Add(1) })
	})
	// The catch-all handlers already ran for the first event (they run
	// before the named ones); the named ones have not.
	removeFunc()
	removeFunc() // idempotent
	removeAny()
	s.OffAny()
	release()
	wait(t, done, "burst-done")
	if n := kept.Load(); n != burstN {
		t.Errorf("kept handler ran %d times, want %d", n, burstN)
	}
	if n := byFunc.Load(); n != 0 {
		t.Errorf("handler removed by its func ran %d times, want 0", n)
	}
	if a, b := anyFunc.Load(), byOffAny.Load(); a != 1 || b != 1 {
		t.Errorf("removed catch-all handlers ran %d and %d times, want 1 (the event before the removal) each", a, b)
	}

	// Off: the same with the burst that follows.
	s.Off("burst")
	s.On("burst", func(*socketio.Event) { byOff.Add(1) }) // added after Off: runs
	finished := make(chan struct{})
	s.Once("burst-done", func(*socketio.Event) { close(finished) })
	if err := s.Emit(ctxT(t), "burst", burstN); err != nil {
		t.Fatal(err)
	}
	wait(t, finished, "the second burst-done")
	if n := kept.Load(); n != burstN {
		t.Errorf("handler removed by Off ran %d more times, want 0", n-burstN)
	}
	if n := byOff.Load(); n != burstN {
		t.Errorf("handler added after Off ran %d times, want %d", n, burstN)
	}
}

// TestOnceRunsOnceWhenQueuedTwice: a Once handler with several of its
// events queued runs for the first only, and a handler removing itself
// runs once; both leave the tables.
func TestOnceRunsOnceWhenQueuedTwice(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	var once, self atomic.Int64
	var selfRemove func()
	var firstSeen atomic.Value
	s, release, done := startBurst(t, srv, func(s *socketio.Socket) {
		s.Once("burst", func(e *socketio.Event) {
			once.Add(1)
			i, _ := socketio.Arg[int](e.Args, 0)
			firstSeen.Store(i)
		})
		selfRemove = s.On("burst", func(*socketio.Event) {
			self.Add(1)
			selfRemove() // from inside itself
		})
	})
	release()
	wait(t, done, "burst-done")
	if n := once.Load(); n != 1 {
		t.Errorf("Once handler ran %d times, want 1", n)
	}
	if i := firstSeen.Load(); i != 0 {
		t.Errorf("Once handler saw burst %v, want the first (0)", i)
	}
	if n := self.Load(); n != 1 {
		t.Errorf("self-removing handler ran %d times, want 1", n)
	}
	s.Off("burst") // the blocking handler of startBurst
	wantTables(t, s)
}

// TestListenersChangeDuringDispatch: handlers are added and removed from
// other goroutines while the server streams events to the socket: no data
// race (run with -race), no deadlock between the removals and the
// dispatcher, and the tables end empty. (What a removed handler may still
// do from another goroutine is in TestRemovedHandlerSkipsQueuedEvents and
// On's doc.)
func TestListenersChangeDuringDispatch(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	_, s := connect(t, srv, "/", nil, nil)
	finished := make(chan struct{})
	s.Once("burst-done", func(*socketio.Event) { close(finished) })
	ctx, cancel := context.WithCancel(ctxT(t))
	var wg sync.WaitGroup
	var calls atomic.Int64
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				var remove func()
				if g%2 == 0 {
					remove = s.On("burst", func(*socketio.Event) { calls.Add(1) })
				} else {
					remove = s.OnAny(func(*socketio.Event) { calls.Add(1) })
				}
				remove()
			}
		}()
	}
	if err := s.Emit(ctxT(t), "burst", 2000); err != nil {
		t.Fatal(err)
	}
	wait(t, finished, "burst-done")
	cancel()
	wg.Wait()
	wantTables(t, s)
}
