package socketio

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/sioagent/sioagent/protocol/engineio"
)

// outgoing is one emit: its packet and, when an ack is wanted, where the
// reply goes. It may wait in the send buffer while the socket reconnects.
type outgoing struct {
	p         *Packet
	ack       chan ackResult // nil without ack; buffered, receives once
	volatile  bool           // dropped rather than waited for
	cancelled atomic.Bool    // its EmitWithAck gave up: do not send it any more
}

// fail delivers err to a waiting EmitWithAck.
func (o *outgoing) fail(err error) {
	if o.ack != nil {
		deliver(o.ack, ackResult{err: err})
	}
}

// deliver hands r to an EmitWithAck; its channel holds one result and the
// first one wins (an ack may race a failure).
func deliver(ch chan<- ackResult, r ackResult) {
	select {
	case ch <- r:
	default:
	}
}

// Emit sends an event without asking for an ack. Arguments are marshalled
// as JSON; []byte values anywhere in them travel as binary attachments. It
// returns once the packet is queued for the writer, or put in the send
// buffer while the socket reconnects; ctx bounds only that wait. Delivery
// is at most once: a packet written just before the link drops is lost.
func (s *Socket) Emit(ctx context.Context, event string, args ...any) error {
	p, err := eventPacket(s.namespace, event, args)
	if err != nil {
		return err
	}
	return s.write(ctx, &outgoing{p: p})
}

// EmitVolatile sends an event only if it can be queued for the writer at
// once, and otherwise drops it without error (the socket is not connected,
// or the send queue is full), like the reference client's volatile flag:
// for readings that are worthless when late.
func (s *Socket) EmitVolatile(ctx context.Context, event string, args ...any) error {
	p, err := eventPacket(s.namespace, event, args)
	if err != nil {
		return err
	}
	return s.write(ctx, &outgoing{p: p, volatile: true})
}

// EmitWithAck sends an event and waits for the server's acknowledgement,
// returning its arguments. The wait ends with ctx, or after
// SocketOptions.AckTimeout when set: the error then matches ErrAckTimeout
// (and the context's error), and a reply that arrives later is ignored. If
// the socket disconnects first, the error matches ErrDisconnected. With
// SocketOptions.Retries, the event is sent again after a timeout or a
// disconnection (with a new ack id) until an ack arrives, the retries run
// out or ctx ends.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	p, err := eventPacket(s.namespace, event, args)
	if err != nil {
		return Args{}, err
	}
	for attempt := 0; ; attempt++ {
		reply, err := s.emitOnce(ctx, p)
		if err == nil || ctx.Err() != nil || attempt >= s.opts.Retries || !retryable(err) {
			return reply, err
		}
		s.c.log.Debug("socketio: retrying emit", "event", event, "attempt", attempt+1, "err", err)
	}
}

// retryable reports whether sending again may help.
func retryable(err error) bool {
	return errors.Is(err, ErrAckTimeout) || errors.Is(err, ErrDisconnected)
}

// emitOnce sends p once with a fresh ack id and waits for the reply.
func (s *Socket) emitOnce(ctx context.Context, p *Packet) (Args, error) {
	a, err := s.emitAsync(ctx, p)
	if err != nil {
		return Args{}, err
	}
	return a.Result()
}

// write sends o now if the socket is connected, puts it in the send buffer
// if the socket is reconnecting or flushing the buffer (and buffering is
// on), drops it if it is volatile and cannot go now, and fails otherwise:
// with buffering off, also in the moment between the CONNECT reply and the
// end of the flush, so that an emit's error (a packet too large for the
// session) always comes back from the emit itself, before a later emit is
// sent.
func (s *Socket) write(ctx context.Context, o *outgoing) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	switch {
	case s.state == stateConnected && !s.flushing:
		sess := s.sess
		s.mu.Unlock()
		return s.sendOn(ctx, sess, o)
	case o.volatile:
		s.mu.Unlock()
		return nil
	case s.active && s.opts.SendBuffer > 0:
		defer s.mu.Unlock()
		if len(s.sendBuf) >= s.opts.SendBuffer && !s.flushing {
			return fmt.Errorf("%w (%d emits wait for namespace %s)", ErrSendBufferFull, len(s.sendBuf), s.namespace)
		}
		s.sendBuf = append(s.sendBuf, o)
		return nil
	default:
		s.mu.Unlock()
		if s.c.closedNow() {
			return ErrClosed
		}
		return fmt.Errorf("%w: namespace %s", ErrNotConnected, s.namespace)
	}
}

// sendOn queues o on sess, registering its ack first, if the socket is
// still connected there; s.wmu must be held (see Socket.wmu). An emit whose
// caller gave up is skipped.
func (s *Socket) sendOn(ctx context.Context, sess *engineio.Session, o *outgoing) error {
	s.mu.Lock()
	if !s.active || s.state != stateConnected || s.sess != sess {
		s.mu.Unlock()
		return fmt.Errorf("%w: namespace %s", ErrDisconnected, s.namespace)
	}
	if o.cancelled.Load() {
		s.mu.Unlock()
		return nil
	}
	s.register(o)
	s.mu.Unlock()
	var err error
	if o.volatile {
		if err = trySend(sess, o.p); errors.Is(err, engineio.ErrQueueFull) {
			return nil // dropped
		}
	} else {
		err = send(ctx, sess, o.p)
	}
	if err == nil {
		return nil
	}
	s.forget(o)
	switch {
	case errors.Is(err, engineio.ErrPayloadTooLarge):
		return err // sending again cannot help
	case ctx.Err() != nil:
		return ctx.Err()
	default:
		return fmt.Errorf("%w: %w", ErrDisconnected, err)
	}
}

// register gives o a fresh ack id when it wants an ack; s.mu must be held.
func (s *Socket) register(o *outgoing) {
	if o.ack == nil {
		return
	}
	o.p.ID, o.p.HasID = s.nextID, true
	s.nextID++
	s.pending[o.p.ID] = o.ack
}

// forget drops the pending ack of o (it timed out or was not sent).
func (s *Socket) forget(o *outgoing) {
	if o.ack == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.p.HasID && s.pending[o.p.ID] == o.ack {
		delete(s.pending, o.p.ID)
	}
}

// cancel withdraws o after its wait ended: from the send buffer if it is
// still there, otherwise from the pending acks.
func (s *Socket) cancel(o *outgoing) {
	o.cancelled.Store(true)
	s.mu.Lock()
	if i := slices.Index(s.sendBuf, o); i >= 0 {
		s.sendBuf = slices.Delete(s.sendBuf, i, i+1)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.forget(o)
}

// eventPacket builds an EVENT or BINARY_EVENT packet.
func eventPacket(namespace, event string, args []any) (*Packet, error) {
	if slices.Contains(reservedEvents[:], event) {
		return nil, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	all := make([]any, 0, 1+len(args))
	all = append(all, event)
	all = append(all, args...)
	return argsPacket(&Packet{Type: PacketEvent, Namespace: namespace}, PacketBinaryEvent, event, all)
}

// ackPacket builds an ACK or BINARY_ACK packet.
func ackPacket(namespace string, id uint64, args []any) (*Packet, error) {
	return argsPacket(&Packet{Type: PacketAck, Namespace: namespace, ID: id, HasID: true}, PacketBinaryAck, "", args)
}

// argsPacket sets p's payload to args, and its type to binaryType when
// they hold binary values; event names the event in errors ("" for an ack).
func argsPacket(p *Packet, binaryType PacketType, event string, args []any) (*Packet, error) {
	data, atts, err := MarshalArgs(args...)
	if err != nil {
		return nil, fmt.Errorf("socketio: %s: %w", packetName(event), err)
	}
	if len(atts) > DefaultMaxAttachments {
		return nil, fmt.Errorf("%w: %s has %d binary values, servers accept %d", ErrTooManyAttachments, packetName(event), len(atts), DefaultMaxAttachments)
	}
	p.Data, p.Attachments = data, atts
	if len(atts) > 0 {
		p.Type = binaryType
	}
	return p, nil
}

// packetName names an outgoing packet in errors.
func packetName(event string) string {
	if event == "" {
		return "ack"
	}
	return fmt.Sprintf("event %q", event)
}
