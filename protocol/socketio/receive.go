package socketio

import (
	"encoding/json"
	"errors"
)

// errNoSID is the reason a CONNECT reply without a socket id is refused:
// it comes from a server of protocol v4 (Socket.IO 2.x).
var errNoSID = errors.New("socketio: CONNECT reply without sid (a Socket.IO 2.x server?)")

// onPacket handles one packet for this namespace, on the session's reader
// goroutine. It never runs user code.
func (s *Socket) onPacket(p *Packet) error {
	switch p.Type {
	case PacketConnect:
		return s.onConnect(p)
	case PacketConnectError:
		s.onConnectError(p)
	case PacketDisconnect:
		s.letGo(ErrServerDisconnect)
		s.scheduleRejoin(ErrServerDisconnect)
	case PacketEvent, PacketBinaryEvent:
		return s.onEvent(p)
	case PacketAck, PacketBinaryAck:
		return s.onAck(p)
	}
	return nil
}

// onConnect handles the server's CONNECT reply: the socket is connected,
// events that came first are delivered, then the send buffer is flushed,
// all before OnConnect runs. It fails with ErrDispatchQueueFull when the
// dispatcher cannot take the events that came first.
func (s *Socket) onConnect(p *Packet) error {
	var reply struct {
		SID string `json:"sid"`
		PID string `json:"pid"`
	}
	_ = json.Unmarshal(p.Data, &reply)
	s.mu.Lock()
	sess := s.inFlight
	s.inFlight = nil
	switch {
	case sess == nil:
		s.mu.Unlock()
		return nil // no CONNECT awaits a reply: ignore
	case s.state != stateConnecting:
		// The socket gave up while the CONNECT was in flight: the manager
		// leaves the namespace again, or the server would keep it.
		s.goodbye = sess
		s.mu.Unlock()
		s.c.notify()
		return nil
	case reply.SID == "":
		s.mu.Unlock()
		s.deactivate(errNoSID)
		return nil
	}
	s.rejoin.delays.Reset()
	s.recovered = s.pid != "" && reply.PID == s.pid
	s.state, s.flushing, s.sess, s.id, s.pid = stateConnected, true, sess, reply.SID, reply.PID
	early := s.early
	s.early, s.earlySize = nil, 0
	var err error
	for _, e := range early {
		if err = s.dispatchEventLocked(e); err != nil {
			break // the rest is dropped with the connection
		}
	}
	recovered := s.recovered
	s.reportConnect(recovered) // before any event that comes later
	s.mu.Unlock()
	s.c.notify() // the manager flushes the send buffer
	if err != nil {
		return s.c.overflow(err, s.namespace)
	}
	return nil
}

// onConnectError handles the server's refusal of the namespace.
func (s *Socket) onConnectError(p *Packet) {
	cerr := parseConnectError(p)
	s.mu.Lock()
	awaited := s.inFlight != nil && s.state == stateConnecting
	s.inFlight = nil
	s.mu.Unlock()
	if !awaited {
		return
	}
	s.letGo(cerr)
	s.c.status(Status{Kind: StatusConnectError, Namespace: s.namespace, Err: cerr})
	if s.opts.OnConnectError != nil {
		s.c.disp.push(func() { s.opts.OnConnectError(cerr) })
	}
	s.scheduleRejoin(cerr)
}

func (s *Socket) onEvent(p *Packet) error {
	if _, err := SplitArray(p.Data); err != nil {
		return err
	}
	s.mu.Lock()
	var err error
	switch s.state {
	case stateConnecting:
		if s.inFlight == nil {
			break
		}
		size := packetSize(p)
		if !s.c.bounds.admits(len(s.early), s.earlySize, size) {
			// These are the events a recovering server replays: it would
			// replay as many again on the next connection, and forever.
			// The next CONNECT asks for a new session instead.
			s.pid, s.offset = "", ""
			err = ErrPreConnectQueueFull
			break
		}
		s.early = append(s.early, p) // delivered right after the CONNECT reply
		s.earlySize += size
	case stateConnected:
		err = s.dispatchEventLocked(p)
	}
	s.mu.Unlock()
	if err != nil {
		return s.c.overflow(err, s.namespace) // closes the connection
	}
	return nil
}

// dispatchEventLocked queues the handlers of one event on the dispatcher,
// after taking the connection state recovery offset off its arguments;
// s.mu must be held. It fails with ErrDispatchQueueFull when the
// dispatcher's bounds are reached: the event is dropped and its offset not
// recorded, so that a recovering server replays it.
func (s *Socket) dispatchEventLocked(p *Packet) error {
	raw, _ := SplitArray(p.Data) // checked by onEvent
	var name string
	if err := json.Unmarshal(raw[0], &name); err != nil {
		name = string(raw[0]) // a numeric event name
	}
	args := raw[1:]
	offset, hasOffset := "", false
	if s.pid != "" && !p.HasID && len(args) > 0 {
		// With recovery on, the server appends an offset to every event
		// without ack; remember the last one and hide it from handlers.
		if json.Unmarshal(args[len(args)-1], &offset) == nil {
			hasOffset, args = true, args[:len(args)-1]
		}
	}
	e := &Event{Name: name, Args: Args{raw: args, attachments: p.Attachments}}
	if p.HasID {
		e.ack = &acker{s: s, sess: s.sess, id: p.ID}
	}
	if handlers := s.ls.match(name); len(handlers) > 0 {
		err := s.c.disp.pushEvent(func() {
			for _, h := range handlers {
				h.call(e)
			}
		}, packetSize(p))
		if err != nil {
			return err
		}
	}
	if hasOffset {
		s.offset = offset
	}
	return nil
}

func (s *Socket) onAck(p *Packet) error {
	if !p.HasID {
		return nil
	}
	raw, err := SplitArray(p.Data)
	if err != nil {
		return err
	}
	s.mu.Lock()
	ch, ok := s.pending[p.ID]
	delete(s.pending, p.ID)
	s.mu.Unlock()
	if !ok {
		s.c.log.Debug("socketio: ack for an unknown or expired id", "namespace", s.namespace, "id", p.ID)
		return nil
	}
	deliver(ch, ackResult{args: Args{raw: raw, attachments: p.Attachments}})
	return nil
}
