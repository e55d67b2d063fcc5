package socketio

import "sync"

// dispatcher runs callbacks one at a time, in the order they were queued, on
// its own goroutine, so user code never runs on a connection's reader. Its
// queue is unbounded: the reader must never block on a slow handler, or
// pings would go unanswered and a handler waiting for an ack would
// deadlock.
type dispatcher struct {
	mu      sync.Mutex
	queue   []task
	wake    chan struct{}
	stopped bool
	done    chan struct{}
}

// task is one queued callback. Lifecycle tasks (connect, disconnect) still
// run after stop; event tasks queued before stop are skipped.
type task struct {
	fn        func()
	lifecycle bool
}

func newDispatcher() *dispatcher {
	d := &dispatcher{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go d.run()
	return d
}

// push queues fn; it never blocks.
func (d *dispatcher) push(fn func(), lifecycle bool) {
	d.mu.Lock()
	if d.stopped && !lifecycle {
		d.mu.Unlock()
		return
	}
	d.queue = append(d.queue, task{fn: fn, lifecycle: lifecycle})
	d.mu.Unlock()
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
	select {
	case d.wake <- struct{}{}:
	default:
	}
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
			if stopped && !t.lifecycle {
				continue
			}
			t.fn()
			queue[i] = task{} // let the arguments be collected
			if !stopped {
				d.mu.Lock()
				stopped = d.stopped
				d.mu.Unlock()
			}
		}
		if stopped && len(queue) == 0 {
			return
		}
		if !stopped {
			<-d.wake
		}
	}
}
