package socketio

import (
	"context"
	"fmt"
	"time"
)

// PendingAck is an event sent by Socket.EmitWithAckAsync, waiting for its
// acknowledgement.
type PendingAck struct {
	done chan struct{}
	args Args
	err  error
	at   time.Time // when the outcome became known; set before done closes
}

// Done returns a channel that is closed once the outcome is known: the ack
// arrived, the wait ended (the context or SocketOptions.AckTimeout), or the
// socket disconnected. Result then returns at once.
func (a *PendingAck) Done() <-chan struct{} { return a.done }

// At returns when the outcome became known: the ack's arrival, or the end
// of the wait. It is the zero time until Done is closed. A pipelined
// sender that looks at its pending acks only now and then measures round
// trips with it (sent time to At), not with the time it looked.
func (a *PendingAck) At() time.Time {
	select {
	case <-a.done:
		return a.at
	default:
		return time.Time{}
	}
}

// Result waits for Done and returns what EmitWithAck would have returned:
// the ack's arguments, or an error matching ErrAckTimeout (and the
// context's error) or ErrDisconnected.
func (a *PendingAck) Result() (Args, error) {
	<-a.done
	return a.args, a.err
}

// EmitWithAckAsync is EmitWithAck in two steps, for pipelined senders.
// It returns as soon as the event is queued for the writer (or put in the
// send buffer while the socket reconnects), so events emitted one after the
// other from one goroutine go out in that order, however many of them wait
// for their acks; the returned PendingAck completes with the ack, or with
// an error when ctx ends, SocketOptions.AckTimeout passes or the socket
// disconnects. ctx bounds both the queueing and the wait for the ack.
//
// SocketOptions.Retries does not apply: the caller sees every failure and
// decides what to send again, and in which order. An error returned by
// EmitWithAckAsync itself (not connected with buffering off, a full send
// buffer, a value that cannot be marshalled, ctx ended while queueing)
// means the event was not queued.
//
// Each pending ack holds one goroutine until its outcome is known.
func (s *Socket) EmitWithAckAsync(ctx context.Context, event string, args ...any) (*PendingAck, error) {
	p, err := eventPacket(s.namespace, event, args)
	if err != nil {
		return nil, err
	}
	return s.emitAsync(ctx, p)
}

// emitAsync queues p with a fresh ack id and returns its pending ack.
func (s *Socket) emitAsync(ctx context.Context, p *Packet) (*PendingAck, error) {
	cancel := context.CancelFunc(func() {})
	if s.opts.AckTimeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, s.opts.AckTimeout)
	}
	o := &outgoing{p: p, ack: make(chan ackResult, 1)}
	if err := s.write(ctx, o); err != nil {
		cancel()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %w", ErrAckTimeout, ctx.Err())
		}
		return nil, err
	}
	a := &PendingAck{done: make(chan struct{})}
	go func() {
		defer cancel()
		select {
		case r := <-o.ack:
			a.args, a.err = r.args, r.err
		case <-ctx.Done():
			s.cancel(o)
			a.err = fmt.Errorf("%w: %w", ErrAckTimeout, ctx.Err())
		}
		a.at = time.Now()
		close(a.done)
	}()
	return a, nil
}
