package socketio

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"

	"github.com/sioagent/sioagent/protocol/engineio"
)

// ackWriteTimeout bounds the wait for the writer when a handler sends an
// ack.
const ackWriteTimeout = engineio.DefaultWriteTimeout

// Event is one incoming event.
type Event struct {
	// Name is the event name.
	Name string
	// Args are the event's arguments (without the name).
	Args Args
	ack  *acker
}

// WantsAck reports whether the sender asked for an acknowledgement.
func (e *Event) WantsAck() bool { return e.ack != nil }

// Ack sends the acknowledgement with args ([]byte values travel as binary
// attachments). Only the first call sends; later calls return
// ErrAlreadyAcked. It returns ErrNoAckRequested when the sender did not ask
// for one. If the link dropped since the event arrived, the ack is lost (the
// server has failed its wait already).
func (e *Event) Ack(args ...any) error {
	if e.ack == nil {
		return ErrNoAckRequested
	}
	return e.ack.send(args)
}

type acker struct {
	s    *Socket
	sess *engineio.Session
	id   uint64
	sent atomic.Bool
}

func (a *acker) send(args []any) error {
	if !a.sent.CompareAndSwap(false, true) {
		return ErrAlreadyAcked
	}
	p, err := ackPacket(a.s.namespace, a.id, args)
	if err != nil {
		return err
	}
	s := a.s
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	current := s.state == stateConnected && s.sess == a.sess
	s.mu.Unlock()
	if !current {
		// The server forgot the event with the link or the namespace; an
		// ack for a namespace it has left would make it close the session.
		return fmt.Errorf("%w: namespace %s (the ack is lost)", ErrNotConnected, s.namespace)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ackWriteTimeout)
	defer cancel()
	return send(ctx, a.sess, p)
}

// Args are the arguments of an event or an ack: raw JSON values with their
// binary attachments. Decode them into Go values with Decode or Scan, or get
// generic values with Values.
type Args struct {
	raw         []json.RawMessage
	attachments [][]byte
	strict      bool // see Strict
}

// Strict returns a copy of a whose Decode (and Scan, and Arg) fails on an
// object member that matches no field of the struct it decodes into, as
// json.Decoder.DisallowUnknownFields does, so that a misspelt key is an
// error rather than silently ignored. Decoding into maps and any is not
// affected.
func (a Args) Strict() Args {
	a.strict = true
	return a
}

// NewArgs returns the Args of raw JSON arguments whose binary values are
// placeholders ({"_placeholder":true,"num":N}) indexing attachments, as a
// packet carries them: for decoding arguments kept or relayed outside a
// Socket (Raw and Attachments return them), and for tests.
func NewArgs(raw []json.RawMessage, attachments [][]byte) Args {
	return Args{raw: raw, attachments: attachments}
}

// Len returns the number of arguments.
func (a Args) Len() int { return len(a.raw) }

// Raw returns argument i as JSON, with binary values as
// {"_placeholder":true,"num":N} objects that index Attachments.
func (a Args) Raw(i int) json.RawMessage { return a.raw[i] }

// Attachments returns the binary attachments of the packet.
func (a Args) Attachments() [][]byte { return a.attachments }

// Decode decodes argument i into v, like json.Unmarshal. Binary values
// decode into []byte fields (or, when v is *any, appear as []byte in the
// generic value). An index out of range is an error.
func (a Args) Decode(i int, v any) error {
	if i < 0 || i >= len(a.raw) {
		return fmt.Errorf("socketio: argument %d of %d: out of range", i, len(a.raw))
	}
	if err := unmarshalArg(a.raw[i], a.attachments, v, a.strict); err != nil {
		return fmt.Errorf("socketio: argument %d: %w", i, err)
	}
	return nil
}

// Scan decodes the first len(dst) arguments into dst in order; a nil entry
// skips that argument. It fails if there are fewer arguments than dst.
func (a Args) Scan(dst ...any) error {
	for i, v := range dst {
		if v == nil {
			continue
		}
		if err := a.Decode(i, v); err != nil {
			return err
		}
	}
	return nil
}

// Values returns every argument as a generic value: maps, slices, strings,
// bools, nil, json.Number and []byte for binary.
func (a Args) Values() ([]any, error) {
	out := make([]any, len(a.raw))
	for i, r := range a.raw {
		v, err := DecodeValue(r, a.attachments)
		if err != nil {
			return nil, fmt.Errorf("socketio: argument %d: %w", i, err)
		}
		out[i] = v
	}
	return out, nil
}

// Arg decodes argument i of a into a new T: a typed shortcut for
// Args.Decode.
func Arg[T any](a Args, i int) (T, error) {
	var v T
	err := a.Decode(i, &v)
	return v, err
}
