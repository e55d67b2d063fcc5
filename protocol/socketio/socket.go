package socketio

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/sioagent/sioagent/protocol/engineio"
)

// SocketOptions configure one namespace socket. Callbacks run on the
// client's dispatcher goroutine, in order with event handlers, and must not
// block for long.
type SocketOptions struct {
	// Auth is sent with every CONNECT (the server sees it as
	// socket.handshake.auth). It must marshal to a JSON object.
	Auth any
	// AuthFunc, when set, is called before every CONNECT and its result is
	// sent instead of Auth, so a token can be refreshed between attempts. An
	// error aborts the connect.
	AuthFunc func(ctx context.Context) (any, error)
	// OnConnect is called each time the namespace is connected.
	OnConnect func()
	// OnDisconnect is called each time a connected namespace disconnects,
	// with the reason (see Reason).
	OnDisconnect func(reason error)
}

// state of a socket.
type state int

const (
	stateDisconnected state = iota
	stateConnecting
	stateConnected
)

// Socket is one namespace on a Client. Its methods are safe for concurrent
// use.
type Socket struct {
	c         *Client
	namespace string
	opts      SocketOptions

	mu        sync.Mutex
	state     state
	sess      *engineio.Session // the session it is connected on
	id        string
	pid       string
	connectCh chan error // result of a pending Connect
	early     []*Packet  // events that came before the CONNECT reply
	nextID    uint64     // next ack id
	pending   map[uint64]chan<- ackResult
	handlers  map[string][]func(*Event)
	any       []func(*Event)
}

type ackResult struct {
	args Args
	err  error
}

func newSocket(c *Client, namespace string, opts *SocketOptions) *Socket {
	s := &Socket{c: c, namespace: namespace, pending: make(map[uint64]chan<- ackResult), handlers: make(map[string][]func(*Event))}
	if opts != nil {
		s.opts = *opts
	}
	return s
}

// Namespace returns the socket's namespace, like "/" or "/admin".
func (s *Socket) Namespace() string { return s.namespace }

// ID returns the id the server gave this socket on its last connect, or ""
// while disconnected.
func (s *Socket) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Connected reports whether the namespace is connected.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == stateConnected
}

// On registers fn for events named event. Handlers run on the client's
// dispatcher goroutine, one at a time, in the order events arrived, after
// the OnAny handlers.
func (s *Socket) On(event string, fn func(*Event)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[event] = append(s.handlers[event], fn)
}

// OnAny registers fn for every incoming event (a catch-all handler).
func (s *Socket) OnAny(fn func(*Event)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.any = append(s.any, fn)
}

// Connect opens the client's Engine.IO session if needed, sends CONNECT with
// the auth payload and waits for the server's answer. A refusal is a
// *ConnectError. Connecting a connected socket does nothing.
func (s *Socket) Connect(ctx context.Context) error {
	sess, err := s.c.session(ctx)
	if err != nil {
		return err
	}
	ch, err := s.startConnect(sess)
	if err != nil || ch == nil {
		return err
	}
	auth, err := s.authPayload(ctx)
	if err == nil {
		err = send(ctx, sess, &Packet{Type: PacketConnect, Namespace: s.namespace, Data: auth})
	}
	if err == nil {
		select {
		case err = <-ch:
		case <-ctx.Done():
			select {
			case err = <-ch: // the answer raced the deadline
			default:
				err = ctx.Err()
			}
		}
	}
	if err != nil {
		s.abortConnect(ch)
	}
	return err
}

// startConnect moves the socket to connecting and returns the channel the
// result will arrive on, or nil when already connected.
func (s *Socket) startConnect(sess *engineio.Session) (chan error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case stateConnected:
		return nil, nil
	case stateConnecting:
		return nil, fmt.Errorf("socketio: namespace %s: connect already in progress", s.namespace)
	}
	s.state, s.sess = stateConnecting, sess
	s.connectCh = make(chan error, 1)
	return s.connectCh, nil
}

// abortConnect puts a socket whose Connect failed back to disconnected.
func (s *Socket) abortConnect(ch chan error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.connectCh == ch && s.state == stateConnecting {
		s.state, s.sess, s.connectCh, s.early = stateDisconnected, nil, nil, nil
	}
}

func (s *Socket) authPayload(ctx context.Context) (json.RawMessage, error) {
	auth := s.opts.Auth
	if s.opts.AuthFunc != nil {
		var err error
		if auth, err = s.opts.AuthFunc(ctx); err != nil {
			return nil, fmt.Errorf("socketio: auth: %w", err)
		}
	}
	if auth == nil {
		return nil, nil
	}
	data, atts, err := MarshalValue(auth)
	switch {
	case err != nil:
		return nil, fmt.Errorf("socketio: auth: %w", err)
	case len(atts) > 0:
		return nil, fmt.Errorf("socketio: auth: binary values are not allowed in auth")
	case len(data) == 0 || data[0] != '{':
		return nil, fmt.Errorf("socketio: auth: must be a JSON object, got %.20s", data)
	}
	return data, nil
}

// Disconnect sends DISCONNECT for the namespace and fails its pending acks.
// The Engine.IO session stays open for other namespaces until Client.Close.
// The Node server drops events it has received but not yet dispatched when
// the DISCONNECT arrives, so emit with an ack what must arrive before it.
func (s *Socket) Disconnect() error {
	s.mu.Lock()
	sess := s.sess
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	return s.disconnect(ctx, sess, ErrClientDisconnect)
}

// disconnect sends DISCONNECT when connected and moves to disconnected.
func (s *Socket) disconnect(ctx context.Context, sess *engineio.Session, reason error) error {
	s.mu.Lock()
	wasConnected := s.state == stateConnected
	s.mu.Unlock()
	var err error
	if wasConnected && sess != nil {
		err = send(ctx, sess, &Packet{Type: PacketDisconnect, Namespace: s.namespace})
	}
	s.setDisconnected(nil, reason)
	return err
}

// onClose is called when session sess has ended.
func (s *Socket) onClose(sess *engineio.Session, reason error) {
	s.setDisconnected(sess, reason)
}

// setDisconnected moves the socket to disconnected if it is connected (or
// connecting) on sess (any session when sess is nil), fails pending acks and
// a pending Connect, and queues OnDisconnect.
func (s *Socket) setDisconnected(sess *engineio.Session, reason error) {
	s.mu.Lock()
	if s.state == stateDisconnected || (sess != nil && s.sess != sess) {
		s.mu.Unlock()
		return
	}
	wasConnected := s.state == stateConnected
	if s.connectCh != nil {
		s.connectCh <- reason
		s.connectCh = nil
	}
	pending := s.pending
	s.pending = make(map[uint64]chan<- ackResult)
	s.state, s.sess, s.id, s.early = stateDisconnected, nil, "", nil
	s.mu.Unlock()
	ackErr := fmt.Errorf("%w: %w", ErrDisconnected, reason)
	for _, ch := range pending {
		ch <- ackResult{err: ackErr}
	}
	if wasConnected && s.opts.OnDisconnect != nil {
		s.c.disp.push(func() { s.opts.OnDisconnect(reason) }, true)
	}
}
