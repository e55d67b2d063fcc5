package socketio

import (
	"errors"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Defaults for the bounds of the queues of incoming events
// (Options.MaxQueuedEvents, Options.MaxQueuedBytes).
const (
	// DefaultMaxQueuedEvents is how many events may wait for their
	// handlers on the dispatcher, and separately how many may wait on a
	// socket for the CONNECT reply.
	// It is well above a legitimate burst (the tests' 10,000 events in a
	// row, read faster than the handler runs on a loaded machine) and
	// far below a flood; the byte bound is the main memory guard.
	DefaultMaxQueuedEvents = 16384
	// DefaultMaxQueuedBytes is how many bytes of event payload (JSON text
	// and binary attachments) may wait on the dispatcher, and separately on
	// a socket for the CONNECT reply. It is the default engine read limit,
	// so that one event of the largest size the engine accepts always fits
	// in an empty queue.
	DefaultMaxQueuedBytes = 16 << 20
)

// Reasons a connection is closed when the server sends faster than the
// handlers keep up. The manager reconnects as after any other drop (with
// connection state recovery, the server replays from the last event that
// was queued); Client.Stats counts them.
var (
	// ErrDispatchQueueFull: an event arrived while Options.MaxQueuedEvents
	// events, or Options.MaxQueuedBytes bytes, were waiting for handlers
	// (a handler blocks or is too slow). The event is dropped; the ones
	// already queued are still delivered.
	ErrDispatchQueueFull = errors.New("socketio: dispatch queue full")
	// ErrPreConnectQueueFull: a namespace received more events before the
	// server's CONNECT reply than Options.MaxQueuedEvents (or
	// Options.MaxQueuedBytes) allow. Those are the events a server with
	// connection state recovery replays; it would replay them all again, so
	// the next connection asks for a new session (Recovered is false) and
	// the events missed meanwhile are lost, as after an expired recovery.
	ErrPreConnectQueueFull = errors.New("socketio: too many events before the CONNECT reply")
)

// queueBounds bounds a queue of incoming events: at most events of them
// and bytes of payload, except that an empty queue always takes one event
// (the engine's read limit bounds its size).
type queueBounds struct {
	events int
	bytes  int64
}

// newQueueBounds returns the bounds of o, defaults filled in.
func newQueueBounds(o *Options) queueBounds {
	b := queueBounds{events: o.MaxQueuedEvents, bytes: o.MaxQueuedBytes}
	if b.events <= 0 {
		b.events = DefaultMaxQueuedEvents
	}
	if b.bytes <= 0 {
		b.bytes = DefaultMaxQueuedBytes
	}
	return b
}

// admits reports whether a queue holding events events of bytes bytes can
// take one more of size bytes.
func (b queueBounds) admits(events int, bytes, size int64) bool {
	return events == 0 || (events < b.events && bytes+size <= b.bytes)
}

// packetSize is what an incoming event counts for in the queue bounds: its
// JSON text and its attachments.
func packetSize(p *Packet) int64 {
	n := int64(len(p.Data))
	for _, a := range p.Attachments {
		n += int64(len(a))
	}
	return n
}

// dispatcher runs callbacks one at a time, in the order they were queued, on
// its own goroutine, so user code never runs on a connection's reader. The
// reader never blocks on it (or pings would go unanswered and a handler
// waiting for an ack would deadlock): push never waits, and pushEvent
// refuses an event when the bounds are reached, which closes the
// connection. Lifecycle callbacks are not bounded: a few per connection
// attempt, and attempts are spaced by the reconnection backoff.
type dispatcher struct {
	bounds queueBounds
	log    *slog.Logger
	panics *atomic.Uint64 // Stats.HandlerPanics

	mu      sync.Mutex
	queue   []task
	events  int   // event tasks queued or running
	bytes   int64 // their payload sizes
	wake    chan struct{}
	stopped bool
	done    chan struct{}
}

// task is one queued callback. Lifecycle tasks (connect, disconnect) still
// run after stop; event tasks queued before stop are skipped.
type task struct {
	fn        func()
	lifecycle bool
	size      int64 // payload size of an event task
}

func newDispatcher(bounds queueBounds, log *slog.Logger, panics *atomic.Uint64) *dispatcher {
	d := &dispatcher{bounds: bounds, log: log, panics: panics, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go d.run()
	return d
}

// push queues a lifecycle callback (connect, disconnect, status); it
// never blocks, and lifecycle callbacks are not bounded (see dispatcher).
func (d *dispatcher) push(fn func()) {
	d.mu.Lock()
	d.queue = append(d.queue, task{fn: fn, lifecycle: true})
	d.mu.Unlock()
	d.signal()
}

// pushEvent queues the handlers of an event of size payload bytes, or
// returns ErrDispatchQueueFull when the bounds are reached; it never
// blocks.
func (d *dispatcher) pushEvent(fn func(), size int64) error {
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		return nil
	}
	if !d.bounds.admits(d.events, d.bytes, size) {
		d.mu.Unlock()
		return ErrDispatchQueueFull
	}
	d.events++
	d.bytes += size
	d.queue = append(d.queue, task{fn: fn, size: size})
	d.mu.Unlock()
	d.signal()
	return nil
}

// queued returns the events waiting or running and their payload bytes.
func (d *dispatcher) queued() (events int, bytes int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.events, d.bytes
}

func (d *dispatcher) signal() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// stop makes the dispatcher drop queued events, run the queued lifecycle
// callbacks and exit; it waits for that.
func (d *dispatcher) stop() {
	d.mu.Lock()
	d.stopped = true
	d.mu.Unlock()
	d.signal()
	<-d.done
}

func (d *dispatcher) run() {
	defer close(d.done)
	for {
		d.mu.Lock()
		queue, stopped := d.queue, d.stopped
		d.queue = nil
		d.mu.Unlock()
		for i, t := range queue {
			if !stopped || t.lifecycle {
				d.call(t.fn)
			}
			queue[i] = task{} // let the arguments be collected
			d.mu.Lock()
			if !t.lifecycle {
				d.events--
				d.bytes -= t.size
			}
			stopped = d.stopped
			d.mu.Unlock()
		}
		if stopped && len(queue) == 0 {
			return
		}
		if !stopped {
			<-d.wake
		}
	}
}

// call runs one callback. A panic in it is recovered, logged with its
// stack and counted (Stats.HandlerPanics): one bad handler must not end a
// device's process or stop the handlers after it. An ack the handler had
// not sent yet is never sent (the server's ack times out).
func (d *dispatcher) call(fn func()) {
	defer func() {
		if p := recover(); p != nil {
			d.panics.Add(1)
			d.log.Error("socketio: a handler panicked", "panic", p, "stack", string(debug.Stack()))
		}
	}()
	fn()
}
