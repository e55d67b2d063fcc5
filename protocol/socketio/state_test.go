package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/protocol/socketio"
)

// sameState compares two states but for their Changed channels.
func sameState(a, b socketio.State) bool {
	return a.Kind == b.Kind && a.Attempt == b.Attempt && a.Delay == b.Delay && a.Recovered == b.Recovered && sameErr(a.Err, b.Err)
}

// sameErr reports whether a and b are the same error (each matches the
// other), without comparing values that may not be comparable.
func sameErr(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return errors.Is(a, b) && errors.Is(b, a)
}

// watchStates follows s's states on a goroutine, from the current one: it
// takes a snapshot, sends it, and waits for its Changed. States that come
// and go before it takes the next snapshot are not seen. It stops at the
// end of the test.
func watchStates(t *testing.T, s *socketio.Socket) <-chan socketio.State {
	ch := make(chan socketio.State, 1000)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			st := s.State()
			select {
			case ch <- st:
			case <-stop:
				return
			}
			select {
			case <-st.Changed:
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return ch
}

// statesUntil reads the watched states until one is of kind k, and returns
// them all, that one last.
func statesUntil(t *testing.T, ch <-chan socketio.State, k socketio.StateKind) []socketio.State {
	t.Helper()
	return statesUntilOne(t, ch, k.String(), func(st socketio.State) bool { return st.Kind == k })
}

// statesUntilOne reads the watched states until one satisfies ok, and
// returns them all, that one last.
func statesUntilOne(t *testing.T, ch <-chan socketio.State, what string, ok func(socketio.State) bool) []socketio.State {
	t.Helper()
	var seen []socketio.State
	deadline := time.After(testTimeout)
	for {
		select {
		case st := <-ch:
			seen = append(seen, st)
			if ok(st) {
				return seen
			}
		case <-deadline:
			t.Fatalf("no %s state in time; saw %v", what, seen)
		}
	}
}

// statesOf maps the statuses of a socket whose link is lost and
// reconnected to the states they stand for (see Socket.State), after
// first, the state Connect gave the socket.
func statesOf(first socketio.State, statuses []socketio.Status) []socketio.State {
	want := []socketio.State{first}
	last := first
	for _, st := range statuses {
		var next socketio.State
		switch st.Kind {
		case socketio.StatusConnecting:
			if st.Attempt == 0 {
				continue
			}
			next = socketio.State{Kind: socketio.StateConnecting, Attempt: st.Attempt, Err: last.Err}
		case socketio.StatusConnected:
			next = socketio.State{Kind: socketio.StateConnected, Recovered: st.Recovered}
		case socketio.StatusDisconnected:
			next = socketio.State{Kind: socketio.StateConnecting, Err: st.Err} // the link was lost
		case socketio.StatusReconnecting:
			next = socketio.State{Kind: socketio.StateReconnecting, Attempt: st.Attempt, Delay: st.Delay, Err: st.Err}
		default:
			continue
		}
		want = append(want, next)
		last = next
	}
	return want
}

// checkSubsequence fails unless seen is want with some states left out:
// those the watcher missed.
func checkSubsequence(t *testing.T, seen, want []socketio.State) {
	t.Helper()
	i := 0
	for _, st := range seen {
		for i < len(want) && !sameState(st, want[i]) {
			i++
		}
		if i == len(want) {
			t.Fatalf("states seen\n  %v\nare not in the order OnStatus told\n  %v\n(%v is not there)", seen, want, st)
		}
		i++
	}
}

// The states across a connection, a lost link, failed reconnection
// attempts and the reconnection are those OnStatus tells, in its order;
// WhenConnected is closed only in StateConnected.
func TestStateFollowsALostLinkLikeOnStatus(t *testing.T) {
	_, p, c, log := proxied(t, nodeserver.Options{}, socketio.Options{})
	s := c.Socket("/", nil)
	states := watchStates(t, s)
	if st := wait(t, states, "the first state"); !sameState(st, socketio.State{}) || st.String() != "disconnected" {
		t.Fatalf("before Connect: %+v, want disconnected without error", st)
	}
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if st := s.State(); st.Kind != socketio.StateConnected || st.Err != nil || !isClosed(s.WhenConnected()) {
		t.Fatalf("after Connect: %+v, WhenConnected closed %v", st, isClosed(s.WhenConnected()))
	}
	seen := []socketio.State{{}}
	seen = append(seen, statesUntil(t, states, socketio.StateConnected)...)
	log.next(t, socketio.StatusConnected)

	p.SetRefuse(true) // reconnection attempts fail until the watcher saw the backoff after one
	p.Cut()
	waiting := statesUntilOne(t, states, "reconnecting after a failed attempt", func(st socketio.State) bool {
		return st.Kind == socketio.StateReconnecting && st.Attempt >= 2
	})
	seen = append(seen, waiting...)
	rc := waiting[len(waiting)-1]
	if want := min(50*time.Millisecond<<(rc.Attempt-1), 400*time.Millisecond); rc.Attempt < 1 || rc.Delay != want || rc.Err == nil {
		t.Fatalf("while reconnecting: %+v, want attempt from 1, its backoff delay (%v) and the reason", rc, want)
	}
	if s.Connected() || isClosed(s.WhenConnected()) || s.State().Kind == socketio.StateConnected {
		t.Fatalf("connected through a refusing proxy: %v", s.State())
	}
	p.SetRefuse(false)
	seen = append(seen, statesUntil(t, states, socketio.StateConnected)...)
	log.next(t, socketio.StatusConnected)
	if !isClosed(s.WhenConnected()) {
		t.Fatal("StateConnected with WhenConnected open")
	}

	want := statesOf(socketio.State{Kind: socketio.StateConnecting}, log.snapshot())
	t.Logf("states seen: %v", seen)
	checkSubsequence(t, seen, append([]socketio.State{{}}, want...))
	for _, st := range seen[1:] {
		if st.Kind == socketio.StateDisconnected {
			t.Fatalf("%v while the client reconnects: the socket never stopped being active", st)
		}
	}

	// The reconnection is over: a socket connecting now is on a first
	// connection (its CONNECT waits in AuthFunc meanwhile).
	asked, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	late := c.Socket("/custom", &socketio.SocketOptions{AuthFunc: func(ctx context.Context) (any, error) {
		once.Do(func() { close(asked) })
		select {
		case <-release:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}})
	connected := make(chan error, 1)
	go func() { connected <- late.Connect(ctxT(t)) }()
	wait(t, asked, "the CONNECT of /custom")
	if st := late.State(); !sameState(st, socketio.State{Kind: socketio.StateConnecting}) {
		t.Fatalf("connecting after the reconnection: %+v, want attempt 0 without error", st)
	}
	close(release)
	if err := wait(t, connected, "Connect /custom"); err != nil {
		t.Fatal(err)
	}
}

// A socket that becomes active while the client waits for its next
// reconnection attempt takes the client's state: the attempt, the delay
// and the reason.
func TestStateOfASocketJoiningAnOutage(t *testing.T) {
	_, p, c, log := proxied(t, nodeserver.Options{}, socketio.Options{ReconnectDelay: time.Hour, ReconnectDelayMax: time.Hour})
	s := c.Socket("/", nil)
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	p.Cut()
	rc := log.next(t, socketio.StatusReconnecting) // for an hour
	joining := c.Socket("/custom", nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := joining.Connect(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Connect during the outage = %v", err)
	}
	want := socketio.State{Kind: socketio.StateReconnecting, Attempt: 1, Delay: time.Hour, Err: rc.Err}
	for _, sock := range []*socketio.Socket{s, joining} {
		if st := sock.State(); !sameState(st, want) {
			t.Fatalf("%s during the outage: %+v, want %+v", sock.Namespace(), st, want)
		}
	}
}

// Disconnect makes the socket StateDisconnected with ErrClientDisconnect,
// connected or in the middle of reconnecting (where no Status is queued);
// a Disconnect that changes nothing closes no Changed.
func TestStateAfterDisconnect(t *testing.T) {
	_, p, c, _ := proxied(t, nodeserver.Options{}, socketio.Options{})
	s := c.Socket("/", nil)
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	before := s.State()
	if err := s.Disconnect(); err != nil {
		t.Fatal(err)
	}
	st := s.State()
	if st.Kind != socketio.StateDisconnected || !errors.Is(st.Err, socketio.ErrClientDisconnect) || socketio.Reason(st.Err) != "io client disconnect" {
		t.Fatalf("after Disconnect: %+v", st)
	}
	if !isClosed(before.Changed) || isClosed(st.Changed) || isClosed(s.WhenConnected()) {
		t.Fatalf("after Disconnect: old Changed closed %v, new Changed closed %v, WhenConnected closed %v; want true, false, false",
			isClosed(before.Changed), isClosed(st.Changed), isClosed(s.WhenConnected()))
	}
	if err := s.Disconnect(); err != nil {
		t.Fatal(err)
	}
	if isClosed(st.Changed) {
		t.Fatalf("a second Disconnect closed Changed without a change: %v", s.State())
	}

	// Reconnecting through a refusing proxy: Disconnect stops it.
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	states := watchStates(t, s)
	p.SetRefuse(true)
	p.Cut()
	statesUntil(t, states, socketio.StateReconnecting)
	if err := s.Disconnect(); err != nil {
		t.Fatal(err)
	}
	if st := s.State(); st.Kind != socketio.StateDisconnected || !errors.Is(st.Err, socketio.ErrClientDisconnect) {
		t.Fatalf("Disconnect while reconnecting: %+v", st)
	}
	p.SetRefuse(false)
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if st := s.State(); st.Kind != socketio.StateConnected {
		t.Fatalf("connected again: %+v", st)
	}
}

// A refusal makes the socket StateDisconnected with the *ConnectError;
// with Rejoin it is StateReconnecting (the rejoin's attempt and delay)
// instead, then StateConnecting for that attempt, then connected.
func TestStateAfterRefusal(t *testing.T) {
	_, _, c, log := proxied(t, nodeserver.Options{}, socketio.Options{})
	var cerr *socketio.ConnectError
	no := c.Socket("/no", nil)
	if err := no.Connect(ctxT(t)); !errors.As(err, &cerr) {
		t.Fatalf("Connect /no = %v, want the refusal", err)
	}
	if st := no.State(); st.Kind != socketio.StateDisconnected || !errors.As(st.Err, &cerr) || cerr.Namespace != "/no" {
		t.Fatalf("refused without Rejoin: %+v", st)
	}

	// The second AuthFunc call, the rejoin's, waits for the test: the
	// socket is connecting meanwhile.
	asked, release := make(chan struct{}), make(chan struct{})
	var calls int
	s := c.Socket("/token", &socketio.SocketOptions{Rejoin: true, AuthFunc: func(ctx context.Context) (any, error) {
		calls++ // on the manager goroutine only
		if calls == 1 {
			return map[string]string{"token": "wrong"}, nil
		}
		if calls == 2 {
			close(asked)
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return map[string]string{"token": "s3cret"}, nil
	}})
	states := watchStates(t, s)
	wait(t, states, "the first state")
	if err := s.Connect(ctxT(t)); !errors.As(err, &cerr) {
		t.Fatalf("Connect /token = %v, want the refusal", err)
	}
	rejoin := log.next(t, socketio.StatusRejoining)
	wait(t, asked, "the rejoin's AuthFunc")
	connecting := s.State()
	if connecting.Kind != socketio.StateConnecting || connecting.Attempt != 1 || !sameErr(connecting.Err, rejoin.Err) || isClosed(s.WhenConnected()) {
		t.Fatalf("rejoining: %+v, want connecting, attempt 1, Err the refusal", connecting)
	}
	close(release)
	seen := statesUntil(t, states, socketio.StateConnected)
	want := []socketio.State{
		{Kind: socketio.StateConnecting},
		{Kind: socketio.StateReconnecting, Attempt: 1, Delay: 50 * time.Millisecond, Err: rejoin.Err},
		{Kind: socketio.StateConnecting, Attempt: 1, Err: rejoin.Err},
		{Kind: socketio.StateConnected},
	}
	checkSubsequence(t, seen, want)
}

// With a long rejoin delay the socket stays StateReconnecting with the
// rejoin's attempt and delay; Connect supersedes the rejoin (the next
// refusal is the next attempt), Disconnect stops it and Close ends it,
// for good.
func TestStateOfAPendingRejoin(t *testing.T) {
	_, _, c, log := proxied(t, nodeserver.Options{}, socketio.Options{ReconnectDelay: time.Hour, ReconnectDelayMax: time.Hour})
	s := c.Socket("/no", &socketio.SocketOptions{Rejoin: true})
	for attempt := 1; attempt <= 3; attempt++ {
		if err := s.Connect(ctxT(t)); err == nil {
			t.Fatal("/no connected")
		}
		st := s.State()
		var cerr *socketio.ConnectError
		if st.Kind != socketio.StateReconnecting || st.Attempt != attempt || st.Delay != time.Hour || !errors.As(st.Err, &cerr) {
			t.Fatalf("refusal %d with Rejoin: %+v, want reconnecting, attempt %d in an hour, Err the refusal", attempt, st, attempt)
		}
		if rj := log.next(t, socketio.StatusRejoining); rj.Attempt != attempt || rj.Delay != st.Delay || !sameErr(rj.Err, st.Err) {
			t.Fatalf("StatusRejoining %+v for state %+v", rj, st)
		}
		if attempt == 2 {
			if err := s.Disconnect(); err != nil {
				t.Fatal(err)
			}
			if st := s.State(); st.Kind != socketio.StateDisconnected || !errors.Is(st.Err, socketio.ErrClientDisconnect) {
				t.Fatalf("Disconnect with a rejoin pending: %+v", st)
			}
		}
	}
	before := s.State()
	c.Close()
	if st := s.State(); st.Kind != socketio.StateDisconnected || !errors.Is(st.Err, socketio.ErrClosed) || !isClosed(before.Changed) {
		t.Fatalf("after Close with a rejoin pending: %+v (old Changed closed %v)", st, isClosed(before.Changed))
	}
}

// When ReconnectAttempts attempts have failed the socket is
// StateDisconnected with ErrReconnectFailed, and Connect starts again from
// a first connection.
func TestStateWhenReconnectionGivesUp(t *testing.T) {
	srv, _, c, log := proxied(t, nodeserver.Options{}, socketio.Options{ReconnectAttempts: 3})
	s := c.Socket("/", nil)
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	states := watchStates(t, s)
	srv.Stop()
	seen := statesUntil(t, states, socketio.StateDisconnected)
	st := seen[len(seen)-1]
	if !errors.Is(st.Err, socketio.ErrReconnectFailed) || isClosed(s.WhenConnected()) {
		t.Fatalf("after giving up: %+v", st)
	}
	log.next(t, socketio.StatusReconnectFailed)
	for _, st := range seen {
		if (st.Kind == socketio.StateReconnecting || st.Kind == socketio.StateConnecting) && st.Attempt > 3 {
			t.Fatalf("%v with ReconnectAttempts 3", st)
		}
	}
	srv.Restart(t)
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	seen = statesUntil(t, states, socketio.StateConnected)
	for _, st := range seen {
		if st.Kind == socketio.StateConnecting && st.Attempt != 0 {
			t.Fatalf("%v after giving up: the attempts start again", st)
		}
	}
}

// Client.Close leaves every socket StateDisconnected with ErrClosed, those
// that never connected and those made afterwards too; it closes the
// Changed of the states before it and wakes their waiters, and the state
// is final.
func TestStateAfterClose(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	c, connected := connect(t, srv, "/", nil, nil)
	refused := c.Socket("/no", nil)
	if err := refused.Connect(ctxT(t)); err == nil {
		t.Fatal("/no connected")
	}
	idle := c.Socket("/custom", nil)
	sockets := []*socketio.Socket{connected, refused, idle}
	var before []socketio.State
	woke := make(chan error, len(sockets))
	for _, s := range sockets {
		st := s.State()
		before = append(before, st)
		go func() {
			select {
			case <-st.Changed:
				woke <- s.State().Err
			case <-time.After(testTimeout):
				woke <- fmt.Errorf("%s: not woken", s.Namespace())
			}
		}()
	}
	c.Close()
	for i, s := range append(sockets, c.Socket("/late", nil)) {
		st := s.State()
		if st.Kind != socketio.StateDisconnected || !errors.Is(st.Err, socketio.ErrClosed) || !errors.Is(st.Err, socketio.ErrClientDisconnect) {
			t.Fatalf("%s after Close: %+v", s.Namespace(), st)
		}
		if i < len(before) && !isClosed(before[i].Changed) {
			t.Fatalf("%s: Close did not close Changed", s.Namespace())
		}
		if err := s.Connect(ctxT(t)); !errors.Is(err, socketio.ErrClosed) {
			t.Fatalf("Connect after Close: %v", err)
		}
		if isClosed(st.Changed) || isClosed(s.WhenConnected()) {
			t.Fatalf("%s: the state changed after Close: %v", s.Namespace(), s.State())
		}
	}
	for range sockets {
		if err := wait(t, woke, "a waiter at Close"); !errors.Is(err, socketio.ErrClosed) {
			t.Fatalf("a waiter at Close woke to a state with Err %v", err)
		}
	}
}

// Changed is closed once per change, for every waiter: each that took a
// snapshot before a change wakes and sees another state; the current
// state's Changed stays open while nothing changes.
func TestStateChangedWakesEveryWaiterOnce(t *testing.T) {
	const waiters, rounds = 8, 5
	srv := nodeserver.Start(t, nodeserver.Options{})
	c := newClient(t, srv.URL(), nil)
	s := c.Socket("/", nil)
	type wake struct{ before, after socketio.State }
	start := make([]chan struct{}, 2*rounds)
	for i := range start {
		start[i] = make(chan struct{})
	}
	ready, woke := make(chan socketio.State, waiters), make(chan wake, waiters)
	for range waiters {
		go func() {
			for _, round := range start {
				select {
				case <-round:
				case <-time.After(testTimeout):
					return
				}
				st := s.State()
				ready <- st
				select {
				case <-st.Changed:
					woke <- wake{st, s.State()}
				case <-time.After(testTimeout):
					woke <- wake{st, st}
					return
				}
			}
		}()
	}
	actions := []struct {
		name string
		do   func() error
		want socketio.StateKind
	}{
		{"Connect", func() error { return s.Connect(ctxT(t)) }, socketio.StateConnected},
		{"Disconnect", s.Disconnect, socketio.StateDisconnected},
	}
	for i := range start {
		a := actions[i%2]
		current := s.State()
		close(start[i])
		for range waiters {
			if st := wait(t, ready, "a waiter's snapshot"); !sameState(st, current) || st.Changed != current.Changed {
				t.Fatalf("round %d: a waiter's snapshot %v is not the current state %v", i, st, current)
			}
		}
		if err := a.do(); err != nil {
			t.Fatal(err)
		}
		for range waiters {
			w := wait(t, woke, "a waiter's wake-up")
			if sameState(w.after, w.before) {
				t.Fatalf("%s: a waiter woke to the state it had (%v): Changed closed without a change, or not at all", a.name, w.before)
			}
		}
		if st := s.State(); st.Kind != a.want || isClosed(st.Changed) {
			t.Fatalf("after %s: %v, Changed closed %v", a.name, st, isClosed(st.Changed))
		}
	}
}

// State.String describes each kind of state.
func TestStateString(t *testing.T) {
	for _, tc := range []struct {
		st   socketio.State
		want string
	}{
		{socketio.State{}, "disconnected"},
		{socketio.State{Kind: socketio.StateDisconnected, Err: socketio.ErrServerDisconnect}, "disconnected: io server disconnect"},
		{socketio.State{Kind: socketio.StateConnecting}, "connecting"},
		{socketio.State{Kind: socketio.StateConnecting, Attempt: 2}, "connecting: attempt 2"},
		{socketio.State{Kind: socketio.StateConnected, Recovered: true}, "connected (recovered=true)"},
		{socketio.State{Kind: socketio.StateReconnecting, Attempt: 3, Delay: 2100 * time.Millisecond, Err: fmt.Errorf("x: %w", socketio.ErrClientDisconnect)}, "reconnecting: attempt 3 in 2.1s (io client disconnect)"},
		{socketio.State{Kind: socketio.StateKind(9)}, "StateKind(9)"},
	} {
		if got := tc.st.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.st, got, tc.want)
		}
	}
}
