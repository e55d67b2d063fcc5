package outbox

import "sync"

// remover deletes the acknowledged records in a goroutine of its own, so
// that the window refills while a deletion waits for its fsync; the acks
// that arrive meanwhile are deleted together by the next transaction.
// Batches are deleted in the order they were added, so deletion follows
// seq.
type remover struct {
	d        *Drainer
	kick     chan struct{} // work was added; holds one signal
	finished chan struct{} // a batch was deleted (or failed); holds one signal
	stop     chan struct{} // closed by close
	done     chan struct{} // closed when run returns

	mu    sync.Mutex
	queue []uint64 // acked, not yet handed to Store.Remove
	busy  bool     // queue is not empty or a Remove is running
	err   error    // the first Remove error not yet taken
}

func newRemover(d *Drainer) *remover {
	return &remover{
		d:        d,
		kick:     make(chan struct{}, 1),
		finished: make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// add queues seqs (increasing, above every seq added before) for deletion.
func (rm *remover) add(seqs []uint64) {
	rm.mu.Lock()
	rm.queue = append(rm.queue, seqs...)
	rm.busy = true
	rm.mu.Unlock()
	signal(rm.kick)
}

// idle reports whether every record added has been deleted (or failed).
func (rm *remover) idle() bool {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	return !rm.busy
}

// takeErr returns and forgets the first deletion error since the last call.
func (rm *remover) takeErr() error {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	err := rm.err
	rm.err = nil
	return err
}

func (rm *remover) run() {
	defer close(rm.done)
	for {
		select {
		case <-rm.kick:
			rm.flush()
		case <-rm.stop:
			rm.flush()
			return
		}
	}
}

// flush deletes what is queued, one transaction per batch taken, until the
// queue is empty.
func (rm *remover) flush() {
	for {
		rm.mu.Lock()
		batch := rm.queue
		rm.queue = nil
		if len(batch) == 0 {
			rm.busy = false
			rm.mu.Unlock()
			signal(rm.finished)
			return
		}
		rm.mu.Unlock()
		if err := rm.d.st.Remove(batch...); err != nil {
			rm.mu.Lock()
			if rm.err == nil {
				rm.err = err
			}
			rm.mu.Unlock()
			signal(rm.finished)
			continue
		}
		rm.d.count(func(s *Stats) { s.Acked += uint64(len(batch)) })
		rm.d.tookOut()
	}
}

// close deletes what is queued and stops the goroutine.
func (rm *remover) close() {
	close(rm.stop)
	<-rm.done
}

// closed reports whether ch is closed, without blocking.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// signal wakes the receiver of ch (capacity 1) without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
