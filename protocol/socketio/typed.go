package socketio

import (
	"context"
	"fmt"
)

// TypedEvent is the definition of one event: its name, the Go type A of
// its arguments and the Go type R of its ack, so that the compiler checks
// every emit and every handler of it. It is the Go form of the typed event
// maps of the TypeScript client (ServerToClientEvents,
// ClientToServerEvents). Declare each event once and use the definition on
// both sides:
//
//	var GPIOWrite = socketio.NewEvent[GPIOWriteArgs, Reply]("gpio:write")
//
//	reply, err := GPIOWrite.EmitWithAck(ctx, sock, GPIOWriteArgs{Pin: "GPIO27", Value: true})
//	remove := GPIOWrite.Handle(sock, func(ctx context.Context, a GPIOWriteArgs) (Reply, error) { ... })
//
// A value of A travels as one argument, marshalled as JSON with []byte
// values as binary attachments, unless A implements ArgsMarshaler: Pair
// carries two arguments (a JSON header and a binary body, typically), and
// NoArgs none. R is the same for the ack. On decoding, an argument the
// sender left out decodes as the zero value (JavaScript's undefined), and
// arguments beyond those A has are ignored unless the definition is
// Strict.
//
// A TypedEvent is a small value, safe for concurrent use; its methods do
// not change it.
type TypedEvent[A, R any] struct {
	name   string
	strict bool
}

// NewEvent returns the definition of the event name with arguments of type
// A and an ack of type R (use NoArgs where there are none).
func NewEvent[A, R any](name string) TypedEvent[A, R] {
	return TypedEvent[A, R]{name: name}
}

// Name returns the event name.
func (e TypedEvent[A, R]) Name() string { return e.name }

// Named returns the same definition under another name: for events whose
// name is configurable, declared with their default and renamed from the
// configuration at start.
func (e TypedEvent[A, R]) Named(name string) TypedEvent[A, R] {
	e.name = name
	return e
}

// Strict returns the definition that decodes its arguments strictly: an
// object member matching no struct field (see Args.Strict), and more
// arguments than A has, are decoding errors, so that a misspelt key is
// refused rather than silently ignored. Acks are always decoded leniently,
// so that a peer may add fields to its answers.
func (e TypedEvent[A, R]) Strict() TypedEvent[A, R] {
	e.strict = true
	return e
}

// ArgsMarshaler is implemented by types that travel as a list of arguments
// (as Pair and NoArgs do) instead of as one.
type ArgsMarshaler interface {
	// MarshalSocketIOArgs returns the arguments, each marshalled as by
	// Socket.Emit.
	MarshalSocketIOArgs() []any
}

// ArgsUnmarshaler is implemented by pointers to types that decode from a
// list of arguments (as Pair and NoArgs do) instead of from the first.
type ArgsUnmarshaler interface {
	// UnmarshalSocketIOArgs decodes the arguments; a is strict (see
	// Args.Strict) when the definition is.
	UnmarshalSocketIOArgs(a Args) error
}

// NoArgs is the argument or ack type of events that carry none.
type NoArgs struct{}

// MarshalSocketIOArgs implements ArgsMarshaler: no arguments.
func (NoArgs) MarshalSocketIOArgs() []any { return nil }

// UnmarshalSocketIOArgs implements ArgsUnmarshaler; with a strict
// definition, any argument is an error.
func (*NoArgs) UnmarshalSocketIOArgs(a Args) error { return checkArity(a, 0) }

// Pair is two arguments: First is argument 0, Second argument 1. A []byte
// Second travels as a binary attachment:
//
//	var Telemetry = socketio.NewEvent[socketio.Pair[Header, []byte], Ack]("telemetry")
type Pair[A, B any] struct {
	First  A
	Second B
}

// MarshalSocketIOArgs implements ArgsMarshaler: First, then Second.
func (p Pair[A, B]) MarshalSocketIOArgs() []any { return []any{p.First, p.Second} }

// UnmarshalSocketIOArgs implements ArgsUnmarshaler.
func (p *Pair[A, B]) UnmarshalSocketIOArgs(a Args) error {
	if err := checkArity(a, 2); err != nil {
		return err
	}
	if a.Len() > 0 {
		if err := a.Decode(0, &p.First); err != nil {
			return err
		}
	}
	if a.Len() > 1 {
		return a.Decode(1, &p.Second)
	}
	return nil
}

// checkArity fails a strict a that has more than n arguments.
func checkArity(a Args, n int) error {
	if a.strict && a.Len() > n {
		return fmt.Errorf("socketio: %d arguments, want at most %d", a.Len(), n)
	}
	return nil
}

// encodeArgs returns the arguments v travels as.
func encodeArgs(v any) []any {
	if m, ok := v.(ArgsMarshaler); ok {
		return m.MarshalSocketIOArgs()
	}
	return []any{v}
}

// decodeArgs decodes a into a new T.
func decodeArgs[T any](a Args) (T, error) {
	var v T
	if u, ok := any(&v).(ArgsUnmarshaler); ok {
		return v, u.UnmarshalSocketIOArgs(a)
	}
	if err := checkArity(a, 1); err != nil {
		return v, err
	}
	if a.Len() == 0 {
		return v, nil
	}
	return v, a.Decode(0, &v)
}

// EncodeArgs returns the arguments a value of A travels as, for
// Socket.Emit and its kin (or any Sender with their signature).
func (e TypedEvent[A, R]) EncodeArgs(a A) []any { return encodeArgs(a) }

// DecodeArgs decodes the arguments of one of the event's occurrences.
func (e TypedEvent[A, R]) DecodeArgs(a Args) (A, error) {
	if e.strict {
		a = a.Strict()
	}
	v, err := decodeArgs[A](a)
	if err != nil {
		return v, fmt.Errorf("socketio: event %q: %w", e.name, err)
	}
	return v, nil
}

// EncodeAck returns the arguments an ack value travels as, for Event.Ack.
func (e TypedEvent[A, R]) EncodeAck(r R) []any { return encodeArgs(r) }

// DecodeAck decodes the arguments of the event's ack.
func (e TypedEvent[A, R]) DecodeAck(a Args) (R, error) {
	v, err := decodeArgs[R](a)
	if err != nil {
		return v, fmt.Errorf("socketio: ack of %q: %w", e.name, err)
	}
	return v, nil
}

// Emit sends the event on s without asking for an ack (Socket.Emit).
func (e TypedEvent[A, R]) Emit(ctx context.Context, s *Socket, a A) error {
	return s.Emit(ctx, e.name, encodeArgs(a)...)
}

// EmitWithAck sends the event on s and waits for its ack, decoded
// (Socket.EmitWithAck, with its timeouts and retries). An ack that does
// not decode into R is an error, after the server has processed the event.
func (e TypedEvent[A, R]) EmitWithAck(ctx context.Context, s *Socket, a A) (R, error) {
	reply, err := s.EmitWithAck(ctx, e.name, encodeArgs(a)...)
	if err != nil {
		var zero R
		return zero, err
	}
	return e.DecodeAck(reply)
}

// On registers fn for the event on s, with its arguments decoded, and
// returns the function that removes it (see Socket.On). Arguments that do
// not decode into A are counted (Stats.DecodeErrors) and logged, and fn is
// not called. It does not answer acks: use Handle for that.
func (e TypedEvent[A, R]) On(s *Socket, fn func(A)) (remove func()) {
	return s.On(e.name, func(ev *Event) {
		if a, err := e.decodeIncoming(s, ev); err == nil {
			fn(a)
		}
	})
}

// Handle registers fn for the event on s and returns the function that
// removes it (see Socket.On). fn gets the decoded arguments and its result
// becomes the ack when the sender asked for one: R, or, when fn returns an
// error, the arguments SocketOptions.ErrorAck makes of it. Arguments that
// do not decode into A are counted (Stats.DecodeErrors) and logged; fn is
// not called and the sender gets the error ack of the decoding error.
//
// fn runs on the client's dispatcher goroutine, like every handler, so it
// must not block for long: hand slow work to a goroutine of your own and
// ack from there with Socket.On and Event.Ack. ctx ends when the client is
// closed.
func (e TypedEvent[A, R]) Handle(s *Socket, fn func(ctx context.Context, a A) (R, error)) (remove func()) {
	return s.On(e.name, func(ev *Event) {
		a, err := e.decodeIncoming(s, ev)
		if err != nil {
			if ev.WantsAck() {
				e.ack(s, ev, s.errorAck(e.name, err))
			}
			return
		}
		r, err := fn(s.c.life, a)
		if !ev.WantsAck() {
			if err != nil {
				s.c.log.Debug("socketio: handler failed on an event without ack", "event", e.name, "err", err)
			}
			return
		}
		if err != nil {
			e.ack(s, ev, s.errorAck(e.name, err))
			return
		}
		e.ack(s, ev, encodeArgs(r))
	})
}

// decodeIncoming decodes the arguments of an incoming occurrence; a
// failure is counted and logged.
func (e TypedEvent[A, R]) decodeIncoming(s *Socket, ev *Event) (A, error) {
	a, err := e.DecodeArgs(ev.Args)
	if err != nil {
		s.c.counts.decodeErrors.Add(1)
		s.c.log.Warn("socketio: event arguments do not decode; handler not called", "namespace", s.namespace, "event", e.name, "err", err)
	}
	return a, err
}

// ack sends the ack args for ev; a failure (the link dropped) is logged.
func (e TypedEvent[A, R]) ack(s *Socket, ev *Event, args []any) {
	if err := ev.Ack(args...); err != nil {
		s.c.log.Debug("socketio: ack not sent", "namespace", s.namespace, "event", e.name, "err", err)
	}
}
