package faultproxy

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"
)

// chunk is data read from src and not yet written to dst.
type chunk struct {
	data []byte
	read time.Time
}

// direction forwards src to dst, applying the settings.
type direction struct {
	c        *pair
	src, dst *net.TCPConn
	count    *atomic.Int64 // the bytes written to dst: Proxy.Forwarded
	wake     chan struct{} // capacity 1; poked on every settings change

	buf      []byte
	queue    []chunk
	queued   int       // bytes in queue
	nextRead time.Time // bandwidth: no read before this
	eof      bool      // src returned io.EOF
}

func newDirection(c *pair, src, dst *net.TCPConn, count *atomic.Int64) *direction {
	return &direction{
		c:     c,
		src:   src,
		dst:   dst,
		count: count,
		wake:  make(chan struct{}, 1),
		buf:   make([]byte, BufferSize),
	}
}

// poke wakes the direction whether it waits on a channel or in Read. The
// settings were changed (and gen bumped) before, so a Read that starts
// after the deadline below is set has seen the new gen and is skipped.
func (d *direction) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
	_ = d.src.SetReadDeadline(time.Unix(1, 0)) // in the past: Read returns now
}

// wait blocks until at (if not zero), a poke, or the end of the pair. It
// returns false at the end of the pair.
func (d *direction) wait(at time.Time) bool {
	var timeout <-chan time.Time
	if !at.IsZero() {
		t := time.NewTimer(time.Until(at))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-d.c.done:
		return false
	case <-d.wake:
	case <-timeout:
	}
	return true
}

// fail ends the pair after an I/O error. An error of our own closing ends
// the direction quietly; any other (a reset, a broken pipe) is passed on to
// the other peer as a reset, as a direct connection would show it.
func (d *direction) fail(err error) {
	if !errors.Is(err, net.ErrClosed) {
		d.c.teardown(closeReset)
	}
}

func (d *direction) run() {
	for {
		s := d.c.p.settings()
		if s.frozen {
			if !d.wait(time.Time{}) {
				return
			}
			continue
		}
		// Deliver every chunk whose latency has elapsed, in order.
		for len(d.queue) > 0 && !time.Now().Before(d.queue[0].read.Add(s.latency)) {
			n, err := d.dst.Write(d.queue[0].data)
			d.count.Add(int64(n))
			if err != nil {
				d.fail(err)
				return
			}
			d.queued -= len(d.queue[0].data)
			d.queue[0] = chunk{}
			d.queue = d.queue[1:]
		}
		if d.eof && len(d.queue) == 0 {
			_ = d.dst.CloseWrite()
			d.c.finish()
			return
		}

		// Decide whether to read now, and until when.
		var until time.Time // zero: no deadline
		if len(d.queue) > 0 {
			until = d.queue[0].read.Add(s.latency)
		}
		canRead := !d.eof && d.queued < MaxQueuedBytes
		if canRead && s.bandwidth > 0 && time.Now().Before(d.nextRead) {
			canRead = false
			if until.IsZero() || d.nextRead.Before(until) {
				until = d.nextRead
			}
		}
		if !canRead {
			if !d.wait(until) {
				return
			}
			continue
		}

		_ = d.src.SetReadDeadline(until)
		if d.c.p.settings().gen != s.gen {
			continue // a poke may have been overwritten by the deadline
		}
		size := len(d.buf)
		if s.bandwidth > 0 {
			size = min(max(s.bandwidth/BandwidthSlicesPerSecond, 1), size)
		}
		n, err := d.src.Read(d.buf[:size])
		if n > 0 {
			// A poke can lose its race with data arriving: the Read then
			// returns the data although the settings changed while it
			// waited (data sent after SetLatency returned would go out
			// without the latency). Such data takes the new settings.
			if cur := d.c.p.settings(); cur.gen != s.gen {
				s = cur
			}
			now := time.Now()
			if s.bandwidth > 0 {
				if d.nextRead.Before(now) {
					d.nextRead = now
				}
				d.nextRead = d.nextRead.Add(time.Duration(n) * time.Second / time.Duration(s.bandwidth))
			}
			if s.latency == 0 && len(d.queue) == 0 && !s.frozen {
				m, werr := d.dst.Write(d.buf[:n])
				d.count.Add(int64(m))
				if werr != nil {
					d.fail(werr)
					return
				}
			} else {
				d.queue = append(d.queue, chunk{data: append([]byte(nil), d.buf[:n]...), read: now})
				d.queued += n
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			d.eof = true
		case errors.Is(err, os.ErrDeadlineExceeded):
			// Our own deadline: a chunk is due, or the settings changed.
		default:
			d.fail(err)
			return
		}
	}
}
