package socketio_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/protocol/engineio"
	"github.com/sioagent/sioagent/protocol/socketio"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(stopsExampleServer{m})
}

// testTimeout bounds every wait in these tests; generous for -race on a
// loaded 2-core CI machine, and never the thing a test measures.
const testTimeout = 20 * time.Second

func newClient(t *testing.T, url string, opts *socketio.Options) *socketio.Client {
	t.Helper()
	c, err := socketio.New(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// mode is one way to run the Engine.IO session; the integration tests of
// the Socket.IO layer run in each.
type mode struct {
	name       string
	transports []string
}

var modes = []mode{
	{"websocket", []string{engineio.TransportWebSocket}},
	{"polling", []string{engineio.TransportPolling}},
	{"upgrade", []string{engineio.TransportPolling, engineio.TransportWebSocket}},
}

// eachMode runs f as a subtest per mode.
func eachMode(t *testing.T, f func(t *testing.T, m mode)) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { f(t, m) })
	}
}

// client is newClient with the mode's transports.
func (m mode) client(t *testing.T, url string, opts *socketio.Options) *socketio.Client {
	t.Helper()
	o := socketio.Options{}
	if opts != nil {
		o = *opts
	}
	o.Engine.Transports = m.transports
	return newClient(t, url, &o)
}

// connect is the package's connect with the mode's transports.
func (m mode) connect(t *testing.T, srv *nodeserver.Server, ns string, sopts *socketio.SocketOptions, setup func(*socketio.Socket)) (*socketio.Client, *socketio.Socket) {
	t.Helper()
	c := m.client(t, srv.URL(), nil)
	s := c.Socket(ns, sopts)
	if setup != nil {
		setup(s)
	}
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatalf("connect %s over %s: %v", ns, m.name, err)
	}
	return c, s
}

// detectionSlack is how late past its deadline a timer-driven detection (a
// ping timeout) may be noticed and still pass: a loaded 2-core machine
// delays timers and the proxy's goroutines (CI measured 2.3 s for a 1.3 s
// window, with polling and upgrade), and on ARM (qemu user emulation in
// CI, or a slow board) everything runs several times slower. Not noticing
// at all, or only at the TCP level, still fails.
func detectionSlack() time.Duration {
	if runtime.GOARCH == "arm" || runtime.GOARCH == "arm64" {
		return 5 * time.Second
	}
	return 2 * time.Second
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// connect starts a server (or reuses srv) and connects namespace ns.
func connect(t *testing.T, srv *nodeserver.Server, ns string, sopts *socketio.SocketOptions, setup func(*socketio.Socket)) (*socketio.Client, *socketio.Socket) {
	t.Helper()
	c := newClient(t, srv.URL(), nil)
	s := c.Socket(ns, sopts)
	if setup != nil {
		setup(s)
	}
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatalf("connect %s: %v", ns, err)
	}
	return c, s
}

// collector gathers events of one name on a channel.
func collect(s *socketio.Socket, name string) chan *socketio.Event {
	ch := make(chan *socketio.Event, 100)
	s.On(name, func(e *socketio.Event) { ch <- e })
	return ch
}

func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func jsonEq(t *testing.T, got json.RawMessage, want string) {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("bad JSON %s: %v", got, err)
	}
	json.Unmarshal([]byte(want), &b)
	ga, _ := json.Marshal(a)
	gb, _ := json.Marshal(b)
	if !bytes.Equal(ga, gb) {
		t.Fatalf("got %s, want %s", ga, gb)
	}
}

func TestConnectReceivesWelcomeAndID(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srv := nodeserver.Start(t, nodeserver.Options{})
		var welcome chan *socketio.Event
		c, s := m.connect(t, srv, "/", nil, func(s *socketio.Socket) { welcome = collect(s, "welcome") })
		e := wait(t, welcome, "welcome")
		var w struct {
			ID string `json:"id"`
		}
		if err := e.Args.Decode(0, &w); err != nil {
			t.Fatal(err)
		}
		if w.ID == "" || w.ID != s.ID() {
			t.Fatalf("welcome id %q, socket id %q", w.ID, s.ID())
		}
		if !s.Connected() {
			t.Fatal("not connected")
		}
		hs, ok := c.Handshake()
		if !ok || hs.SID == "" || hs.SID == s.ID() {
			t.Fatalf("handshake %+v ok=%v: engine sid must differ from socket id %q", hs, ok, s.ID())
		}
	})
}

func TestEmitWithAckEchoesArgs(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srv := nodeserver.Start(t, nodeserver.Options{})
		_, s := m.connect(t, srv, "/", nil, nil)
		reply, err := s.EmitWithAck(ctxT(t), "echo", 1, "2", map[string]any{"3": []any{false}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if reply.Len() != 4 {
			t.Fatalf("got %d args", reply.Len())
		}
		for i, want := range []string{`1`, `"2"`, `{"3":[false]}`, `null`} {
			jsonEq(t, reply.Raw(i), want)
		}
	})
}

func TestBinaryBothWays(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srv := nodeserver.Start(t, nodeserver.Options{})
		_, s := m.connect(t, srv, "/", nil, nil)
		type blob struct {
			Name string `json:"name"`
			Data []byte `json:"data"`
			List []any  `json:"list"`
		}
		in := blob{Name: "x", Data: []byte{0, 1, 2, 255}, List: []any{[]byte("deep"), "s"}}
		reply, err := s.EmitWithAck(ctxT(t), "echo", []byte{9, 8, 7}, in)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(reply.Attachments()); n != 3 {
			t.Fatalf("ack has %d attachments, want 3", n)
		}
		top, err := socketio.Arg[[]byte](reply, 0)
		if err != nil || !bytes.Equal(top, []byte{9, 8, 7}) {
			t.Fatalf("arg 0 = %v, %v", top, err)
		}
		var out struct {
			Name string `json:"name"`
			Data []byte `json:"data"`
			List []any  `json:"list"`
		}
		if err := reply.Decode(1, &out); err != nil {
			t.Fatal(err)
		}
		if out.Name != "x" || !bytes.Equal(out.Data, in.Data) {
			t.Fatalf("got %+v", out)
		}
		vals, err := reply.Values()
		if err != nil {
			t.Fatal(err)
		}
		deep := vals[1].(map[string]any)["list"].([]any)[0]
		if b, ok := deep.([]byte); !ok || string(b) != "deep" {
			t.Fatalf("nested binary = %#v", deep)
		}
	})
}

func TestBinaryFromServer(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srv := nodeserver.Start(t, nodeserver.Options{})
		var doge, takebin, buffack chan *socketio.Event
		_, s := m.connect(t, srv, "/", nil, func(s *socketio.Socket) {
			doge, takebin, buffack = collect(s, "doge"), collect(s, "takebin"), collect(s, "buffack")
		})
		ctx := ctxT(t)
		for _, ev := range []string{"doge", "getbin"} {
			if err := s.Emit(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		if b, err := socketio.Arg[[]byte](wait(t, doge, "doge").Args, 0); err != nil || string(b) != "asdfasdf" {
			t.Fatalf("doge = %q, %v", b, err)
		}
		var bin struct {
			A    []byte `json:"a"`
			List []any  `json:"list"`
		}
		e := wait(t, takebin, "takebin")
		if err := e.Args.Decode(0, &bin); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(bin.A, []byte{0xde, 0xad}) || len(bin.List) != 3 {
			t.Fatalf("takebin = %+v", bin)
		}
		if err := s.Emit(ctx, "buffa", []byte("abc")); err != nil {
			t.Fatal(err)
		}
		if ok, err := socketio.Arg[bool](wait(t, buffack, "buffack").Args, 0); err != nil || !ok {
			t.Fatalf("server did not see a Buffer: %v %v", ok, err)
		}
	})
}

func TestServerInitiatedAck(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srv := nodeserver.Start(t, nodeserver.Options{})
		acked := make(chan error, 2)
		var gotIt chan *socketio.Event
		_, s := m.connect(t, srv, "/", nil, func(s *socketio.Socket) {
			gotIt = collect(s, "got it")
			s.On("ack", func(e *socketio.Event) {
				var n int
				var obj struct{ Test bool }
				var bin []byte
				if err := e.Args.Scan(&n, &obj, &bin); err != nil || n != 5 || !obj.Test || !bytes.Equal(bin, []byte{1, 2, 3}) {
					acked <- errors.New("bad ack args")
					return
				}
				if !e.WantsAck() {
					acked <- errors.New("server asked for an ack but WantsAck is false")
					return
				}
				acked <- e.Ack(5, map[string]bool{"test": true}, []byte{4, 5})
				acked <- e.Ack("second")
			})
		})
		if err := s.Emit(ctxT(t), "ack"); err != nil {
			t.Fatal(err)
		}
		if err := wait(t, acked, "first ack"); err != nil {
			t.Fatal(err)
		}
		if err := wait(t, acked, "second ack"); !errors.Is(err, socketio.ErrAlreadyAcked) {
			t.Fatalf("second Ack = %v, want ErrAlreadyAcked", err)
		}
		e := wait(t, gotIt, "got it")
		vals, _ := e.Args.Values()
		reply := vals[0].([]any)
		if len(reply) != 3 || string(reply[2].([]byte)) != "\x04\x05" {
			t.Fatalf("server saw reply %#v", reply)
		}
		stats, err := s.EmitWithAck(ctxT(t), "raw-stats")
		if err != nil {
			t.Fatal(err)
		}
		var raw struct{ Acks int }
		if err := stats.Decode(0, &raw); err != nil || raw.Acks != 1 {
			t.Fatalf("server received %d ACK packets (%v), want exactly 1", raw.Acks, err)
		}
	})
}

func TestNamespacesShareOneSession(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srv := nodeserver.Start(t, nodeserver.Options{})
		c := m.client(t, srv.URL(), nil)
		main := c.Socket("/", nil)
		custom := c.Socket("/custom", &socketio.SocketOptions{Auth: map[string]string{"token": "abc"}})
		authEv := collect(custom, "auth")
		ctx := ctxT(t)
		if err := main.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		hs1, _ := c.Handshake()
		if err := custom.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		hs2, _ := c.Handshake()
		if hs1.SID != hs2.SID {
			t.Fatal("second namespace opened a second Engine.IO session")
		}
		jsonEq(t, wait(t, authEv, "auth").Args.Raw(0), `{"token":"abc"}`)
		reply, err := custom.EmitWithAck(ctx, "echo", "on custom")
		if err != nil {
			t.Fatal(err)
		}
		jsonEq(t, reply.Raw(0), `"on custom"`)
		if c.Socket("custom", nil) != custom {
			t.Fatal("Socket did not return the existing socket")
		}
	})
}

func TestNamespaceRejectedWithData(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srv := nodeserver.Start(t, nodeserver.Options{})
		c := m.client(t, srv.URL(), nil)
		err := c.Socket("/no", nil).Connect(ctxT(t))
		var cerr *socketio.ConnectError
		if !errors.As(err, &cerr) {
			t.Fatalf("got %v, want *ConnectError", err)
		}
		if cerr.Message != "Auth failed (custom namespace)" || cerr.Namespace != "/no" {
			t.Fatalf("got %+v", cerr)
		}
		jsonEq(t, cerr.Data, `{"code":42,"reason":"always"}`)
		// an unknown namespace is refused too
		err = c.Socket("/nowhere", nil).Connect(ctxT(t))
		if !errors.As(err, &cerr) || cerr.Message != "Invalid namespace" {
			t.Fatalf("unknown namespace: %v", err)
		}
	})
}

func TestAuthRejectedThenAuthFuncRefreshes(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srv := nodeserver.Start(t, nodeserver.Options{})
		c := m.client(t, srv.URL(), nil)
		var calls atomic.Int32
		s := c.Socket("/token", &socketio.SocketOptions{AuthFunc: func(context.Context) (any, error) {
			if calls.Add(1) == 1 {
				return map[string]string{"token": "wrong"}, nil
			}
			return map[string]string{"token": "s3cret"}, nil
		}})
		authEv := collect(s, "auth")
		err := s.Connect(ctxT(t))
		var cerr *socketio.ConnectError
		if !errors.As(err, &cerr) || cerr.Message != "invalid token" {
			t.Fatalf("got %v, want invalid token", err)
		}
		jsonEq(t, cerr.Data, `{"code":"bad_token"}`)
		if s.Connected() {
			t.Fatal("connected after refusal")
		}
		if err := s.Connect(ctxT(t)); err != nil {
			t.Fatalf("second connect: %v", err)
		}
		if calls.Load() != 2 {
			t.Fatalf("AuthFunc called %d times, want once per connect", calls.Load())
		}
		jsonEq(t, wait(t, authEv, "auth").Args.Raw(0), `{"token":"s3cret"}`)

		bad := m.client(t, srv.URL(), nil).Socket("/", &socketio.SocketOptions{Auth: map[string]string{"token": "bad"}})
		if err := bad.Connect(ctxT(t)); !errors.As(err, &cerr) || cerr.Message != "invalid token" {
			t.Fatalf("main namespace with a bad token: %v", err)
		}
	})
}

func TestHandshakeCarriesHeadersQueryAuth(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srv := nodeserver.Start(t, nodeserver.Options{})
		c := m.client(t, srv.URL(), &socketio.Options{Engine: engineio.Options{
			Header: http.Header{"X-Device": {"pi-7"}},
			Query:  url.Values{"model": {"pi4"}},
		}})
		s := c.Socket("/", &socketio.SocketOptions{Auth: map[string]any{"token": "t0k"}})
		if err := s.Connect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		reply, err := s.EmitWithAck(ctxT(t), "getHandshake")
		if err != nil {
			t.Fatal(err)
		}
		var hs struct {
			Auth    map[string]string `json:"auth"`
			Query   map[string]string `json:"query"`
			Headers map[string]string `json:"headers"`
		}
		if err := reply.Decode(0, &hs); err != nil {
			t.Fatal(err)
		}
		if hs.Auth["token"] != "t0k" || hs.Query["model"] != "pi4" || hs.Headers["x-device"] != "pi-7" || hs.Query["EIO"] != "4" {
			t.Fatalf("handshake %+v", hs)
		}
		if _, inQuery := hs.Query["token"]; inQuery {
			t.Fatal("auth token leaked into the query")
		}
	})
}

func TestServerDisconnectFailsPendingAcks(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srv := nodeserver.Start(t, nodeserver.Options{})
		reasons := make(chan error, 1)
		_, s := m.connect(t, srv, "/", &socketio.SocketOptions{OnDisconnect: func(r error) { reasons <- r }}, nil)
		ctx := ctxT(t)
		pending := make(chan error, 1)
		go func() {
			_, err := s.EmitWithAck(ctx, "slow-echo", 5000)
			pending <- err
		}()
		time.Sleep(100 * time.Millisecond) // let the slow emit go out first
		if err := s.Emit(ctx, "disconnect-me"); err != nil {
			t.Fatal(err)
		}
		if r := wait(t, reasons, "disconnect"); !errors.Is(r, socketio.ErrServerDisconnect) || socketio.Reason(r) != "io server disconnect" {
			t.Fatalf("reason %v", r)
		}
		if err := wait(t, pending, "pending ack"); !errors.Is(err, socketio.ErrDisconnected) || !errors.Is(err, socketio.ErrServerDisconnect) {
			t.Fatalf("pending ack: %v", err)
		}
		if s.Connected() {
			t.Fatal("still connected")
		}
		if err := s.Emit(ctx, "echo"); !errors.Is(err, socketio.ErrNotConnected) {
			t.Fatalf("emit after disconnect: %v", err)
		}
	})
}

func TestAckTimeoutAndLateAckIgnored(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srv := nodeserver.Start(t, nodeserver.Options{})
		_, s := m.connect(t, srv, "/", nil, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := s.EmitWithAck(ctx, "slow-echo", 400, "late")
		if !errors.Is(err, socketio.ErrAckTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want ErrAckTimeout", err)
		}
		time.Sleep(500 * time.Millisecond) // the late ack arrives and is dropped
		reply, err := s.EmitWithAck(ctxT(t), "echo", "fresh")
		if err != nil {
			t.Fatal(err)
		}
		jsonEq(t, reply.Raw(0), `"fresh"`)
	})
}

func TestReservedEventRejected(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1", nil)
	if err := c.Socket("/", nil).Emit(context.Background(), "disconnect"); !errors.Is(err, socketio.ErrReservedEvent) {
		t.Fatalf("got %v", err)
	}
}

func TestBurstInOrderBothWays(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		const n = 10_000
		srv := nodeserver.Start(t, nodeserver.Options{})
		got := make(chan int, n)
		done := make(chan struct{})
		_, s := m.connect(t, srv, "/", nil, func(s *socketio.Socket) {
			s.On("burst", func(e *socketio.Event) {
				i, _ := socketio.Arg[int](e.Args, 0)
				got <- i
			})
			s.On("burst-done", func(*socketio.Event) { close(done) })
		})
		ctx := ctxT(t)
		if err := s.Emit(ctx, "burst", n); err != nil {
			t.Fatal(err)
		}
		wait(t, done, "burst-done")
		close(got)
		next := 0
		for i := range got {
			if i != next {
				t.Fatalf("event %d: got %d (lost or reordered)", next, i)
			}
			next++
		}
		if next != n {
			t.Fatalf("received %d of %d events", next, n)
		}
		for i := range n {
			if err := s.Emit(ctx, "count", i); err != nil {
				t.Fatal(err)
			}
		}
		reply, err := s.EmitWithAck(ctx, "count-stats")
		if err != nil {
			t.Fatal(err)
		}
		var st struct{ Received, OutOfOrder int }
		if err := reply.Decode(0, &st); err != nil {
			t.Fatal(err)
		}
		if st.Received != n || st.OutOfOrder != 0 {
			t.Fatalf("server saw %+v, want %d in order", st, n)
		}
	})
}

func TestOnAnySeesEveryEvent(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srv := nodeserver.Start(t, nodeserver.Options{})
		names := make(chan string, 10)
		_, s := m.connect(t, srv, "/", nil, func(s *socketio.Socket) {
			s.OnAny(func(e *socketio.Event) { names <- e.Name })
		})
		if w := wait(t, names, "welcome"); w != "welcome" {
			t.Fatalf("first event %q", w)
		}
		s.Emit(ctxT(t), "echo-event", 1)
		if w := wait(t, names, "echo-event"); w != "echo-event" {
			t.Fatalf("got %q", w)
		}
	})
}

// cutConn lets a test break or freeze the client's TCP connection.
type cutConn struct {
	net.Conn
	frozen chan struct{}
	once   sync.Once
}

// freeze makes reads block (a half-open link: nothing arrives, nothing
// fails) until the connection is closed.
func (c *cutConn) freeze() { c.once.Do(func() { close(c.frozen) }) }

func (c *cutConn) Read(p []byte) (int, error) {
	for {
		n, err := c.Conn.Read(p)
		select {
		case <-c.frozen:
			if err != nil {
				return 0, err // the read deadline passed, or the conn closed
			}
			// drop what arrived: nothing gets through a frozen link
		default:
			return n, err
		}
	}
}

type dialer struct {
	mu    sync.Mutex
	conns []*cutConn
}

func (d *dialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cc := &cutConn{Conn: c, frozen: make(chan struct{})}
	d.mu.Lock()
	d.conns = append(d.conns, cc)
	d.mu.Unlock()
	return cc, nil
}

func (d *dialer) last() *cutConn {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.conns[len(d.conns)-1]
}

func TestLinkDropFailsPendingAcks(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	var d dialer
	reasons := make(chan error, 1)
	c := newClient(t, srv.URL(), &socketio.Options{Engine: engineio.Options{NetDialContext: d.dial}})
	s := c.Socket("/", &socketio.SocketOptions{OnDisconnect: func(r error) { reasons <- r }})
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	pending := make(chan error, 1)
	go func() {
		_, err := s.EmitWithAck(ctxT(t), "slow-echo", 5000)
		pending <- err
	}()
	time.Sleep(100 * time.Millisecond)
	d.last().Conn.Close()
	if err := wait(t, pending, "pending ack"); !errors.Is(err, socketio.ErrDisconnected) {
		t.Fatalf("pending ack: %v", err)
	}
	r := wait(t, reasons, "disconnect")
	if got := socketio.Reason(r); got != "transport error" && got != "transport close" {
		t.Fatalf("reason %q (%v)", got, r)
	}
}

func TestHeartbeatKeepsAliveAndDetectsHalfOpenLink(t *testing.T) {
	// A short interval gives many ping rounds; a long timeout keeps a loaded
	// CI machine from missing a pong deadline.
	const interval, timeout = 300 * time.Millisecond, time.Second
	srv := nodeserver.Start(t, nodeserver.Options{PingInterval: interval, PingTimeout: timeout})
	var d dialer
	reasons := make(chan error, 1)
	c := newClient(t, srv.URL(), &socketio.Options{Engine: engineio.Options{NetDialContext: d.dial}})
	s := c.Socket("/", &socketio.SocketOptions{OnDisconnect: func(r error) { reasons <- r }})
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(7 * interval) // several ping/pong rounds
	if !s.Connected() {
		t.Fatalf("dropped while pongs were being sent: %v", <-reasons)
	}
	reply, err := s.EmitWithAck(ctxT(t), "raw-stats")
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Pings, Pongs int }
	reply.Decode(0, &st)
	if st.Pings != 0 || st.Pongs < 3 {
		t.Fatalf("server saw %+v: want no client pings and a pong per server ping", st)
	}
	frozenAt := time.Now()
	d.last().freeze()
	r := wait(t, reasons, "ping timeout")
	if !errors.Is(r, engineio.ErrPingTimeout) {
		t.Fatalf("reason %v, want ping timeout", r)
	}
	if took, limit := time.Since(frozenAt), interval+timeout+detectionSlack(); took > limit {
		t.Fatalf("half-open link detected after %v, want within pingInterval+pingTimeout (%v) plus slack", took, interval+timeout)
	}
}

func TestParseErrorClosesConnection(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srv := nodeserver.Start(t, nodeserver.Options{})
		reasons := make(chan error, 1)
		_, s := m.connect(t, srv, "/", &socketio.SocketOptions{OnDisconnect: func(r error) { reasons <- r }}, nil)
		if err := s.Emit(ctxT(t), "send-raw", "2abc"); err != nil {
			t.Fatal(err)
		}
		r := wait(t, reasons, "disconnect")
		if socketio.Reason(r) != "parse error" || !errors.Is(r, socketio.ErrInvalidPacket) {
			t.Fatalf("reason %v", r)
		}
	})
}

func TestCloseIsIdempotentAndFailsEmits(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	c, s := connect(t, srv, "/", nil, nil)
	c.Close()
	c.Close()
	if err := s.Emit(context.Background(), "echo"); !errors.Is(err, socketio.ErrClosed) {
		t.Fatalf("emit after close: %v", err)
	}
	if err := s.Connect(context.Background()); !errors.Is(err, socketio.ErrClosed) {
		t.Fatalf("connect after close: %v", err)
	}
}

func TestConnectUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	// Without reconnection the first failure is the answer.
	c := newClient(t, "http://"+addr, &socketio.Options{NoReconnect: true})
	err = c.Socket("/", nil).Connect(ctxT(t))
	var te *engineio.TransportError
	if !errors.As(err, &te) {
		t.Fatalf("got %v, want a TransportError", err)
	}
	// With it, Connect keeps trying until its context ends, and then says
	// what the last attempt ran into.
	c = newClient(t, "http://"+addr, &socketio.Options{ReconnectDelay: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err = c.Socket("/", nil).Connect(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &te) {
		t.Fatalf("got %v, want the deadline and the last TransportError", err)
	}
}

// Regression: Close right after Emit must not lose the event. The Node
// server drops events it has not dispatched when a DISCONNECT follows in the
// same read, so Close closes the transport instead of sending DISCONNECT.
func TestEmitThenCloseDelivers(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srv := nodeserver.Start(t, nodeserver.Options{})
		var doge chan *socketio.Event
		m.connect(t, srv, "/", nil, func(s *socketio.Socket) { doge = collect(s, "doge") })
		for range 5 {
			c, s := m.connect(t, srv, "/", nil, nil)
			if err := s.Emit(ctxT(t), "doge-all"); err != nil {
				t.Fatal(err)
			}
			c.Close()
			wait(t, doge, "the broadcast the closing client asked for")
		}
	})
}
