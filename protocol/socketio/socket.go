package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sioagent/sioagent/protocol/engineio"
)

// Defaults for SocketOptions.
const (
	// DefaultSendBuffer is how many emits may wait in memory while a socket
	// is reconnecting.
	DefaultSendBuffer = 1024
	// authTimeout bounds one call of SocketOptions.AuthFunc.
	authTimeout = 30 * time.Second
)

// ErrSendBufferFull is returned by emits made while the socket is
// reconnecting and SocketOptions.SendBuffer emits are already waiting.
var ErrSendBufferFull = errors.New("socketio: send buffer full")

// SocketOptions configure one namespace socket. Callbacks run on the
// client's dispatcher goroutine, in order with event handlers, and must not
// block for long.
type SocketOptions struct {
	// Auth is sent with every CONNECT (the server sees it as
	// socket.handshake.auth). It must marshal to a JSON object.
	Auth any
	// AuthFunc, when set, is called before every CONNECT, reconnections
	// included, and its result is sent instead of Auth, so a token can be
	// refreshed. An error disconnects the socket with that error.
	AuthFunc func(ctx context.Context) (any, error)
	// SendBuffer is how many emits may wait in memory while the socket is
	// reconnecting; they are sent in order once it is connected again. Zero
	// means DefaultSendBuffer; a negative value turns buffering off, so
	// emits fail at once with ErrNotConnected while disconnected. A full
	// buffer makes emits fail with ErrSendBufferFull.
	SendBuffer int
	// AckTimeout, when positive, bounds the wait for each ack of
	// EmitWithAck (the call's context may end it sooner).
	AckTimeout time.Duration
	// Retries is how many times EmitWithAck sends an event again after an
	// ack timeout (AckTimeout) or a disconnection, each time with a new ack
	// id; while disconnected the event waits in the send buffer. Several
	// events may be in flight at once. The server may see an event more
	// than once, so its handler must be idempotent.
	Retries int
	// OnConnect is called each time the namespace connects, with whether
	// connection state recovery restored the previous session.
	OnConnect func(recovered bool)
	// OnDisconnect is called each time a connected namespace disconnects,
	// with the reason (see Reason).
	OnDisconnect func(reason error)
	// OnConnectError is called when the server refuses the namespace.
	OnConnectError func(err *ConnectError)
	// ErrorAck makes the ack arguments a TypedEvent handler answers with
	// when it returns an error, or when the event's arguments do not
	// decode (see TypedEvent.Handle). When nil, the ack is one object
	// {"error": "<err.Error()>"}.
	ErrorAck func(event string, err error) []any
	// Rejoin, when true, connects the socket again by itself after the
	// server disconnected it (ErrServerDisconnect) or refused it (a
	// *ConnectError), which the client otherwise leaves to the
	// application: after a delay of the reconnection backoff
	// (Options.ReconnectDelay to ReconnectDelayMax, with its jitter),
	// counted apart from the client's and started again once the socket
	// connects, each reported as StatusRejoining. AuthFunc runs before
	// every CONNECT, so a refreshed token is used. Connect still returns
	// the refusal; Disconnect and Client.Close stop rejoining. For a
	// service that must stay connected whatever the server says.
	Rejoin bool
}

// state of a socket, as the client works with it; finer than the
// StateKind of State (stateConnected includes the flush of the send
// buffer, which StateConnected follows).
type state int

const (
	stateDisconnected state = iota // not active
	stateConnecting                // active, waiting for a session or the CONNECT reply
	stateConnected                 // active and connected
)

// Socket is one namespace on a Client. Its methods are safe for concurrent
// use.
type Socket struct {
	c         *Client
	namespace string
	opts      SocketOptions

	// wmu orders the packets of the namespace: it is held while one is
	// queued to the session (which may block), so that the send buffer is
	// flushed before newer emits and nothing follows a DISCONNECT. The
	// session's reader never takes it. It is taken before mu.
	wmu sync.Mutex

	// mu guards the fields below; it is never held while blocking.
	mu        sync.Mutex
	active    bool              // the application wants it connected
	state     state             // see above
	flushing  bool              // connected, but the send buffer still goes first
	sess      *engineio.Session // the session it is connected on
	inFlight  *engineio.Session // the session a CONNECT awaits its reply on
	goodbye   *engineio.Session // the server connected it there after it gave up
	id        string
	pid       string // connection state recovery: private session id
	offset    string // connection state recovery: last offset received
	recovered bool
	waiter    *connWaiter
	st        stateNotifier // State and WhenConnected (state.go)
	early     []*Packet     // events that came before the CONNECT reply (c.bounds)
	earlySize int64         // their payload bytes
	sendBuf   []*outgoing
	nextID    uint64 // next ack id
	pending   map[uint64]chan<- ackResult
	rejoin    rejoiner // SocketOptions.Rejoin

	ls listeners // On, Once, OnAny; locked on its own
}

// connWaiter is closed with the outcome of a connection attempt.
type connWaiter struct {
	done chan struct{}
	err  error
}

type ackResult struct {
	args Args
	err  error
}

func newSocket(c *Client, namespace string, opts *SocketOptions) *Socket {
	s := &Socket{
		c:         c,
		namespace: namespace,
		waiter:    &connWaiter{done: make(chan struct{})},
		st:        newStateNotifier(),
		pending:   make(map[uint64]chan<- ackResult),
	}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.SendBuffer == 0 {
		s.opts.SendBuffer = DefaultSendBuffer
	}
	s.rejoin.delays = newBackoff(&c.opts)
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

// Recovered reports whether the last connect restored the previous session
// through the server's connection state recovery: the same socket id, and
// the events missed meanwhile delivered before OnConnect.
func (s *Socket) Recovered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovered
}

// errorAck returns the ack arguments for err, a failure of a typed handler
// of event.
func (s *Socket) errorAck(event string, err error) []any {
	if s.opts.ErrorAck != nil {
		return s.opts.ErrorAck(event, err)
	}
	return []any{map[string]string{"error": err.Error()}}
}

func (s *Socket) isActive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// Connect makes the socket active and waits until the namespace is
// connected, the server refuses it (a *ConnectError), or ctx ends. The
// client opens the Engine.IO session if needed and, unless
// Options.NoReconnect is set, retries failed attempts with backoff while
// Connect waits, and reconnects the socket whenever the link drops.
//
// When ctx ends first, the error matches ctx.Err() and, if an attempt
// failed, that attempt's error too; the socket stays active and keeps
// trying in the background until Disconnect or Client.Close. A socket the
// server refused or disconnected is not retried until Connect is called
// again.
func (s *Socket) Connect(ctx context.Context) error {
	if err := s.c.errIfClosed(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.state == stateConnected {
		s.mu.Unlock()
		return nil
	}
	w := s.waiter
	s.activateLocked()
	s.mu.Unlock()
	s.activated()
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		if last := s.c.lastError(); last != nil {
			return fmt.Errorf("%w (last attempt: %w)", ctx.Err(), last)
		}
		return ctx.Err()
	}
}

// activateLocked makes the socket want a connection; s.mu must be held.
// It supersedes a pending rejoin, whose attempt it becomes.
func (s *Socket) activateLocked() {
	select {
	case <-s.c.done: // Close has run: the state stays final
		s.settle(errClientClosed)
		return
	default:
	}
	if !s.active {
		s.active, s.state, s.sess = true, stateConnecting, nil
		attempt := 0
		if s.rejoin.stopLocked() {
			attempt = s.st.cur.Attempt
		}
		s.st.set(State{Kind: StateConnecting, Attempt: attempt, Err: s.st.cur.Err})
	}
}

// activated follows activateLocked, without s.mu: it gives the socket the
// state of a reconnection under way and wakes the manager.
func (s *Socket) activated() {
	s.followLink()
	if s.c.closedNow() { // Close ran meanwhile and did not see it active
		s.deactivate(errClientClosed)
	}
	s.c.notify()
}

// settle ends the current connection attempt with err for every waiting
// Connect; s.mu must be held.
func (s *Socket) settle(err error) {
	s.waiter.err = err
	close(s.waiter.done)
	s.waiter = &connWaiter{done: make(chan struct{})}
}

// sendConnect sends CONNECT on sess if the socket wants to connect and has
// not sent it there yet. It runs on the manager goroutine.
func (s *Socket) sendConnect(ctx context.Context, sess *engineio.Session) {
	s.mu.Lock()
	wanted := s.state == stateConnecting && s.inFlight != sess && s.goodbye != sess
	s.mu.Unlock()
	if !wanted {
		return
	}
	data, err := s.connectPayload(ctx)
	if err != nil {
		s.deactivate(err)
		return
	}
	s.mu.Lock()
	if s.state != stateConnecting || s.inFlight == sess {
		s.mu.Unlock()
		return
	}
	s.inFlight = sess
	s.mu.Unlock()
	if err := send(ctx, sess, &Packet{Type: PacketConnect, Namespace: s.namespace, Data: data}); err != nil {
		s.c.log.Debug("socketio: CONNECT not sent", "namespace", s.namespace, "err", err)
	}
}

// flush runs on the manager goroutine after the socket connected on sess:
// it sends the emits that waited in the send buffer, in order, before any
// newer one, then lets Connect return. When ctx ends (Close), what is left
// goes back to the buffer, for deactivate to fail.
func (s *Socket) flush(ctx context.Context, sess *engineio.Session) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	for {
		s.mu.Lock()
		if !s.flushing || s.sess != sess {
			s.mu.Unlock()
			return
		}
		buffered := s.sendBuf
		s.sendBuf = nil
		if len(buffered) == 0 {
			s.flushing = false
			// Connect returns, and WhenConnected is closed, once newer
			// emits can go straight out.
			s.settle(nil)
			s.st.set(State{Kind: StateConnected, Recovered: s.recovered})
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		for i, o := range buffered {
			err := s.sendOn(ctx, sess, o)
			if ctx.Err() != nil {
				if err == nil {
					i++ // it went out
				}
				s.requeue(buffered[i:])
				return
			}
			if err != nil {
				o.fail(err)
			}
		}
	}
}

// requeue puts emits back at the head of the send buffer.
func (s *Socket) requeue(list []*outgoing) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendBuf = append(list[:len(list):len(list)], s.sendBuf...)
}

// sayGoodbye runs on the manager goroutine: it leaves a namespace the
// server connected after the socket had given up on it.
func (s *Socket) sayGoodbye(sess *engineio.Session) {
	s.mu.Lock()
	due := s.goodbye == sess
	s.goodbye = nil
	s.mu.Unlock()
	if !due {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if err := send(ctx, sess, &Packet{Type: PacketDisconnect, Namespace: s.namespace}); err != nil {
		s.c.log.Debug("socketio: DISCONNECT not sent", "namespace", s.namespace, "err", err)
	}
}

func (s *Socket) reportConnect(recovered bool) {
	s.c.status(Status{Kind: StatusConnected, Namespace: s.namespace, Recovered: recovered})
	if s.opts.OnConnect != nil {
		s.c.disp.push(func() { s.opts.OnConnect(recovered) })
	}
}

// connectPayload returns the CONNECT payload: the auth object, merged with
// the recovery pid and offset after a first connection (auth keys win, as
// in the reference client).
func (s *Socket) connectPayload(ctx context.Context) (json.RawMessage, error) {
	auth, err := s.authPayload(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	pid, offset := s.pid, s.offset
	s.mu.Unlock()
	if pid == "" {
		return auth, nil
	}
	fields := map[string]json.RawMessage{}
	if auth != nil {
		if err := json.Unmarshal(auth, &fields); err != nil {
			return nil, fmt.Errorf("socketio: auth: %w", err)
		}
	}
	addString(fields, "pid", pid)
	addString(fields, "offset", offset)
	return json.Marshal(fields)
}

// addString sets fields[key] to the JSON string v unless the key is taken
// or v is empty.
func addString(fields map[string]json.RawMessage, key, v string) {
	if _, taken := fields[key]; taken || v == "" {
		return
	}
	b, _ := json.Marshal(v)
	fields[key] = b
}

func (s *Socket) authPayload(ctx context.Context) (json.RawMessage, error) {
	auth := s.opts.Auth
	if s.opts.AuthFunc != nil {
		ctx, cancel := context.WithTimeout(ctx, authTimeout)
		defer cancel()
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
		return nil, errors.New("socketio: auth: binary values are not allowed in auth")
	case len(data) == 0 || data[0] != '{':
		return nil, fmt.Errorf("socketio: auth: must be a JSON object, got %.20s", data)
	}
	return data, nil
}

// Disconnect sends DISCONNECT for the namespace, stops reconnecting it and
// fails its pending acks and buffered emits. The Engine.IO session stays
// open for other namespaces until Client.Close. The Node server drops
// events it has received but not yet dispatched when the DISCONNECT
// arrives, so emit with an ack what must arrive before it.
func (s *Socket) Disconnect() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	sess, connected := s.sess, s.state == stateConnected
	s.mu.Unlock()
	var err error
	if connected {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		err = send(ctx, sess, &Packet{Type: PacketDisconnect, Namespace: s.namespace})
		cancel()
	}
	s.deactivate(ErrClientDisconnect)
	return err
}

// deactivate stops the socket for good (until Connect): it fails pending
// acks, buffered emits and waiting Connects with reason, and reports the
// disconnection.
func (s *Socket) deactivate(reason error) { s.stop(reason, false) }

// letGo is deactivate for the server's DISCONNECT or refusal (reason):
// the one case SocketOptions.Rejoin answers, with the rejoin it prepares.
// A socket that is not active (a stray DISCONNECT) is left as it is, a
// pending rejoin included.
func (s *Socket) letGo(reason error) { s.stop(reason, true) }

// stop is deactivate, and letGo when byServer.
func (s *Socket) stop(reason error, byServer bool) {
	s.mu.Lock()
	if byServer && !s.active {
		s.mu.Unlock()
		return
	}
	rejoining := s.rejoin.stopLocked() // Disconnect, Close: no rejoin either
	if !s.active {
		if rejoining || errors.Is(reason, ErrClosed) {
			s.st.set(State{Kind: StateDisconnected, Err: reason}) // no longer reconnecting; after Close, final
		}
		s.mu.Unlock()
		return
	}
	wasConnected := s.state == stateConnected
	next := State{Kind: StateDisconnected, Err: reason}
	if due, ok := s.prepareRejoinLocked(reason); byServer && ok {
		next = State{Kind: StateReconnecting, Attempt: due.Attempt, Delay: due.Delay, Err: reason}
	}
	s.st.set(next)
	s.active, s.state, s.flushing, s.sess, s.id, s.early, s.earlySize = false, stateDisconnected, false, nil, "", nil, 0
	pending, buffered := s.takePending()
	s.settle(reason)
	s.mu.Unlock()
	failAcks(pending, buffered, reason)
	if wasConnected {
		s.reportDisconnect(reason)
	}
	s.c.notify() // the manager closes the session when no socket is left
}

// onSessionEnd is called by the manager when session sess has ended: a
// socket that was on it goes back to connecting, to be connected again on
// the next session.
func (s *Socket) onSessionEnd(sess *engineio.Session, reason error) {
	s.mu.Lock()
	if s.inFlight == sess {
		s.inFlight = nil
	}
	if !s.active || (s.state == stateConnected && s.sess != sess) {
		s.mu.Unlock()
		return
	}
	wasConnected := s.state == stateConnected
	if wasConnected {
		next := StateConnecting // the manager reconnects it
		if errors.Is(reason, ErrClosed) {
			next = StateDisconnected // Close
		}
		s.st.set(State{Kind: next, Err: reason})
	}
	s.state, s.flushing, s.sess, s.id, s.early, s.earlySize = stateConnecting, false, nil, "", nil, 0
	pending := s.pending
	s.pending = make(map[uint64]chan<- ackResult)
	s.mu.Unlock()
	failAcks(pending, nil, reason) // buffered emits wait for the next connection
	if wasConnected {
		s.reportDisconnect(reason)
	}
}

// takePending empties the pending acks and the send buffer; s.mu must be
// held.
func (s *Socket) takePending() (map[uint64]chan<- ackResult, []*outgoing) {
	pending, buffered := s.pending, s.sendBuf
	s.pending, s.sendBuf = make(map[uint64]chan<- ackResult), nil
	return pending, buffered
}

// failAcks fails acks that wait for a reply, and buffered emits, with
// ErrDisconnected wrapping reason.
func failAcks(pending map[uint64]chan<- ackResult, buffered []*outgoing, reason error) {
	err := fmt.Errorf("%w: %w", ErrDisconnected, reason)
	for _, ch := range pending {
		deliver(ch, ackResult{err: err})
	}
	for _, o := range buffered {
		o.fail(err)
	}
}

func (s *Socket) reportDisconnect(reason error) {
	s.c.status(Status{Kind: StatusDisconnected, Namespace: s.namespace, Err: reason})
	if s.opts.OnDisconnect != nil {
		s.c.disp.push(func() { s.opts.OnDisconnect(reason) })
	}
}
