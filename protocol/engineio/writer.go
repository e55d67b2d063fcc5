package engineio

// outboxPackets is how many queued packets the writer takes from the send
// queue before it writes: the most one WebSocket burst or POST body
// carries, and what bounds the writer's own buffer.
const outboxPackets = 64

// outgoing is one item of the send queue: packets written together, or
// the goodbye Close queues.
type outgoing struct {
	packets []Packet
	// goodbye, when not nil, makes the writer tell the server that the
	// client leaves once everything queued before is written, end the
	// session, and close the channel.
	goodbye chan struct{}
}

// outbox holds what the writer took from the send queue and has not
// written yet, so that it outlives a change of transport.
type outbox struct {
	packets []Packet
	pong    bool // a pong is due
	// queued and written count packets since the session started.
	queued, written uint64
	// goodbye is the goodbye marker once taken (nothing queued after it
	// is), due when byeAt packets are written.
	goodbye chan struct{}
	byeAt   uint64
}

func (b *outbox) add(o outgoing) {
	b.packets = append(b.packets, o.packets...)
	b.queued += uint64(len(o.packets))
	if o.goodbye != nil && b.goodbye == nil {
		b.goodbye, b.byeAt = o.goodbye, b.queued
	}
}

// hasData reports whether there is something to write.
func (b *outbox) hasData() bool { return b.pong || len(b.packets) > 0 }

// full reports whether the writer should stop taking from the send queue.
func (b *outbox) full() bool { return b.goodbye != nil || len(b.packets) >= outboxPackets }

// goodbyeDue reports whether everything before the goodbye is written.
func (b *outbox) goodbyeDue() bool { return b.goodbye != nil && b.written >= b.byeAt }

// consume drops the first n packets, which have been written.
func (b *outbox) consume(n int) {
	rest := copy(b.packets, b.packets[n:])
	clear(b.packets[rest:])
	b.packets = b.packets[:rest]
	b.written += uint64(n)
}

// writer is the state of the writer goroutine.
type writer struct {
	s     *Session
	t     transport
	up    *handover // nil once upgraded, or when no upgrade is tried
	box   outbox
	batch []Packet
}

// writeLoop writes what Send queued and the pongs the reader asks for, until
// the session ends. On a polling session that upgrades it pauses between two
// POSTs and goes on with the WebSocket.
func (s *Session) writeLoop(t transport) {
	defer s.wg.Done()
	w := writer{s: s, t: t, up: s.up}
	w.run()
}

func (w *writer) run() {
	for {
		if !w.checkPause() {
			return
		}
		w.collect()
		if w.box.goodbyeDue() {
			w.sayGoodbye()
			return
		}
		if w.box.hasData() {
			if err := w.writeOnce(); err != nil {
				w.s.end(err)
				return
			}
			continue
		}
		if !w.wait() {
			return
		}
	}
}

// wait blocks until there is work, a pause or the end of the session; it
// reports false when the writer must stop.
func (w *writer) wait() bool {
	var pause <-chan struct{}
	if w.up != nil {
		pause = w.up.pause
	}
	select {
	case <-w.s.done:
		return false
	case <-w.s.pongq:
		w.box.pong = true
	case o := <-w.s.sendq:
		w.box.add(o)
	case <-pause:
		return w.pause()
	}
	return true
}

// collect takes what is already queued, without blocking, up to a full
// outbox.
func (w *writer) collect() {
	select {
	case <-w.s.pongq:
		w.box.pong = true
	default:
	}
	for !w.box.full() {
		select {
		case o := <-w.s.sendq:
			w.box.add(o)
		default:
			return
		}
	}
}

// sayGoodbye tells the server that the client leaves, ends the session and
// lets Close know.
func (w *writer) sayGoodbye() {
	w.t.goodbye()
	w.s.end(ErrClosed)
	close(w.box.goodbye)
}

// writeOnce makes one write (one POST on long-polling): a due pong first,
// then as many queued packets as the transport takes. (Nothing queued after
// the goodbye is ever taken: see outbox.full.)
func (w *writer) writeOnce() error {
	b := &w.box
	batch := w.batch[:0]
	if b.pong {
		batch = append(batch, Packet{Type: Pong})
	}
	batch = append(batch, b.packets...)
	n, err := w.t.write(batch)
	clear(batch)
	w.batch = batch[:0]
	if err != nil {
		return err
	}
	if b.pong {
		b.pong = false
		n--
	}
	b.consume(n)
	return nil
}

// checkPause pauses the writer if the upgrade asks for it; it reports false
// when the writer must stop.
func (w *writer) checkPause() bool {
	if w.up == nil || !w.up.pauseRequested() {
		return true
	}
	return w.pause()
}

// pause hands the writer over to the upgraded transport: it reports that
// no POST is in flight, waits for the WebSocket and sends the upgrade
// packet on it before anything else. It reports false when the writer must
// stop.
func (w *writer) pause() bool {
	t := w.up.pauseWriter(w.s.done)
	w.up = nil
	if t == nil {
		return false
	}
	w.t = t
	if _, err := t.write([]Packet{{Type: Upgrade}}); err != nil {
		w.s.end(err)
		return false
	}
	return true
}
