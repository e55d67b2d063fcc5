package socketio

import (
	"context"
	"fmt"
	"slices"

	"github.com/sioagent/sioagent/protocol/engineio"
)

// Emit sends an event without asking for an ack. Arguments are marshalled
// as JSON; []byte values anywhere in them travel as binary attachments. It
// returns once the packet is queued for the writer; ctx bounds only that
// wait. Delivery is at most once: the packet is lost if the link drops.
func (s *Socket) Emit(ctx context.Context, event string, args ...any) error {
	p, err := eventPacket(s.namespace, event, args)
	if err != nil {
		return err
	}
	s.mu.Lock()
	sess, st := s.sess, s.state
	s.mu.Unlock()
	if st != stateConnected {
		return s.notConnected()
	}
	return send(ctx, sess, p)
}

// EmitWithAck sends an event and waits for the server's acknowledgement,
// returning its arguments. The wait ends with ctx: the error then matches
// both ErrAckTimeout and the context's error, and a reply that arrives later
// is ignored. If the socket disconnects first, the error matches
// ErrDisconnected.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	p, err := eventPacket(s.namespace, event, args)
	if err != nil {
		return Args{}, err
	}
	ch := make(chan ackResult, 1)
	s.mu.Lock()
	if s.state != stateConnected {
		s.mu.Unlock()
		return Args{}, s.notConnected()
	}
	sess := s.sess
	p.ID, p.HasID = s.nextID, true
	s.nextID++
	s.pending[p.ID] = ch
	s.mu.Unlock()
	if err := send(ctx, sess, p); err != nil {
		s.forget(p.ID)
		return Args{}, sendError(err, ctx)
	}
	select {
	case r := <-ch:
		return r.args, r.err
	case <-ctx.Done():
		s.forget(p.ID)
		return Args{}, fmt.Errorf("%w: %w", ErrAckTimeout, ctx.Err())
	}
}

// sendError maps a failed send to the errors EmitWithAck documents.
func sendError(err error, ctx context.Context) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", ErrAckTimeout, ctx.Err())
	}
	return fmt.Errorf("%w: %w", ErrDisconnected, err)
}

func (s *Socket) forget(id uint64) {
	s.mu.Lock()
	delete(s.pending, id)
	s.mu.Unlock()
}

func (s *Socket) notConnected() error {
	if err := s.c.errIfClosed(); err != nil {
		return err
	}
	return fmt.Errorf("%w: namespace %s", ErrNotConnected, s.namespace)
}

// eventPacket builds an EVENT or BINARY_EVENT packet.
func eventPacket(namespace, event string, args []any) (*Packet, error) {
	if slices.Contains(reservedEvents[:], event) {
		return nil, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	all := make([]any, 0, 1+len(args))
	all = append(all, event)
	all = append(all, args...)
	data, atts, err := MarshalArgs(all...)
	if err != nil {
		return nil, fmt.Errorf("socketio: event %q: %w", event, err)
	}
	if len(atts) > DefaultMaxAttachments {
		return nil, fmt.Errorf("%w: event %q has %d binary values, servers accept %d", ErrTooManyAttachments, event, len(atts), DefaultMaxAttachments)
	}
	p := &Packet{Type: PacketEvent, Namespace: namespace, Data: data, Attachments: atts}
	if len(atts) > 0 {
		p.Type = PacketBinaryEvent
	}
	return p, nil
}

// onPacket handles one packet for this namespace, on the session's reader
// goroutine. It never blocks on user code.
func (s *Socket) onPacket(p *Packet) error {
	switch p.Type {
	case PacketConnect:
		s.onConnect(p)
	case PacketConnectError:
		s.onConnectError(p)
	case PacketDisconnect:
		s.setDisconnected(nil, ErrServerDisconnect)
	case PacketEvent, PacketBinaryEvent:
		return s.onEvent(p)
	case PacketAck, PacketBinaryAck:
		return s.onAck(p)
	}
	return nil
}

func (s *Socket) onConnect(p *Packet) {
	var reply struct {
		SID string `json:"sid"`
		PID string `json:"pid"`
	}
	_ = UnmarshalArg(p.Data, nil, &reply)
	s.mu.Lock()
	if s.state != stateConnecting {
		s.mu.Unlock()
		s.c.log.Debug("socketio: unexpected CONNECT", "namespace", s.namespace)
		return
	}
	s.state, s.id, s.pid = stateConnected, reply.SID, reply.PID
	early := s.early
	s.early = nil
	ch := s.connectCh
	s.connectCh = nil
	s.mu.Unlock()
	for _, e := range early {
		s.dispatchEvent(e)
	}
	if s.opts.OnConnect != nil {
		s.c.disp.push(s.opts.OnConnect, true)
	}
	ch <- nil
}

func (s *Socket) onConnectError(p *Packet) {
	cerr := parseConnectError(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateConnecting {
		return
	}
	s.connectCh <- cerr
	s.state, s.sess, s.connectCh, s.early = stateDisconnected, nil, nil, nil
}

func (s *Socket) onEvent(p *Packet) error {
	s.mu.Lock()
	switch s.state {
	case stateConnecting:
		s.early = append(s.early, p) // delivered right after the CONNECT reply
		s.mu.Unlock()
		return nil
	case stateDisconnected:
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	return s.dispatchEvent(p)
}

// dispatchEvent queues the handlers of one event on the dispatcher.
func (s *Socket) dispatchEvent(p *Packet) error {
	raw, err := SplitArray(p.Data)
	if err != nil {
		return err
	}
	var name string
	if err := UnmarshalArg(raw[0], nil, &name); err != nil {
		name = string(raw[0]) // a numeric event name
	}
	e := &Event{Name: name, Args: Args{raw: raw[1:], attachments: p.Attachments}}
	if p.HasID {
		s.mu.Lock()
		sess := s.sess
		s.mu.Unlock()
		e.ack = &acker{s: s, sess: sess, id: p.ID}
	}
	s.mu.Lock()
	handlers := append(append([]func(*Event){}, s.any...), s.handlers[name]...)
	s.mu.Unlock()
	if len(handlers) == 0 {
		return nil
	}
	s.c.disp.push(func() {
		for _, h := range handlers {
			h(e)
		}
	}, false)
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
	ch <- ackResult{args: Args{raw: raw, attachments: p.Attachments}}
	return nil
}

// ackPacket builds an ACK or BINARY_ACK packet.
func ackPacket(namespace string, id uint64, args []any) (*Packet, error) {
	data, atts, err := MarshalArgs(args...)
	if err != nil {
		return nil, fmt.Errorf("socketio: ack: %w", err)
	}
	if len(atts) > DefaultMaxAttachments {
		return nil, fmt.Errorf("%w: ack has %d binary values, servers accept %d", ErrTooManyAttachments, len(atts), DefaultMaxAttachments)
	}
	p := &Packet{Type: PacketAck, Namespace: namespace, ID: id, HasID: true, Data: data, Attachments: atts}
	if len(atts) > 0 {
		p.Type = PacketBinaryAck
	}
	return p, nil
}

var _ engineio.Packet
