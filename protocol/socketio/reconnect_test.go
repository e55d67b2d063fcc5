package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/faultproxy"
	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/protocol/engineio"
	"github.com/sioagent/sioagent/protocol/socketio"
)

// fastReconnect makes tests reconnect quickly and without jitter, where
// they did not choose their own delays.
func fastReconnect(o *socketio.Options) *socketio.Options {
	if o.ReconnectDelay == 0 {
		o.ReconnectDelay = 50 * time.Millisecond
	}
	if o.ReconnectDelayMax == 0 {
		o.ReconnectDelayMax = 400 * time.Millisecond
	}
	o.RandomizationFactor = -1
	return o
}

// statusLog records lifecycle events for assertions.
type statusLog struct {
	mu  sync.Mutex
	all []socketio.Status
	ch  chan socketio.Status
}

func newStatusLog() *statusLog { return &statusLog{ch: make(chan socketio.Status, 1000)} }

func (l *statusLog) record(st socketio.Status) {
	l.mu.Lock()
	l.all = append(l.all, st)
	l.mu.Unlock()
	select {
	case l.ch <- st:
	default:
	}
}

// next waits for the next status of kind k, skipping others.
func (l *statusLog) next(t *testing.T, k socketio.StatusKind) socketio.Status {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		select {
		case st := <-l.ch:
			if st.Kind == k {
				return st
			}
		case <-deadline:
			t.Fatalf("no %s status in time; saw %v", k, l.kinds())
		}
	}
}

func (l *statusLog) kinds() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, st := range l.all {
		out = append(out, st.String())
	}
	return out
}

func (l *statusLog) snapshot() []socketio.Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]socketio.Status(nil), l.all...)
}

func (l *statusLog) count(k socketio.StatusKind) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, st := range l.all {
		if st.Kind == k {
			n++
		}
	}
	return n
}

// proxied starts a server (with opts) behind a fault proxy and a client
// through the proxy that records its statuses.
func proxied(t *testing.T, sopts nodeserver.Options, copts socketio.Options) (*nodeserver.Server, *faultproxy.Proxy, *socketio.Client, *statusLog) {
	t.Helper()
	srv := nodeserver.Start(t, sopts)
	p := faultproxy.Start(t, fmt.Sprintf("127.0.0.1:%d", srv.Port()))
	log := newStatusLog()
	copts.OnStatus = log.record
	return srv, p, newClient(t, p.URL(), fastReconnect(&copts)), log
}

// proxied is the package's proxied with the mode's transports.
func (m mode) proxied(t *testing.T, sopts nodeserver.Options, copts socketio.Options) (*nodeserver.Server, *faultproxy.Proxy, *socketio.Client, *statusLog) {
	copts.Engine.Transports = m.transports
	return proxied(t, sopts, copts)
}

// TestReconnectsAfterCutAndCloseAndRecovers runs where the session lives on
// one TCP connection: a polling session makes a request per connection, so
// a cut between two requests does not end it (the refusal in
// TestRecoveryDeliversEveryEventOnceInOrder covers polling).
func TestReconnectsAfterCutAndCloseAndRecovers(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		if m.transports[len(m.transports)-1] != engineio.TransportWebSocket {
			return
		}
		// StableAfter 1ns: every connection counts as stable, so each fault
		// starts from the first delay again.
		// The first delay leaves the server time to notice the cut: a
		// client that is back before that cannot recover (the old session
		// is not closed yet), a race of the protocol itself.
		const delay = time.Second
		_, p, c, log := m.proxied(t, nodeserver.Options{Recovery: true}, socketio.Options{StableAfter: time.Nanosecond, ReconnectDelay: delay, ReconnectDelayMax: delay})
		welcome := make(chan struct{}, 10)
		s := c.Socket("/", nil)
		s.On("welcome", func(*socketio.Event) { welcome <- struct{}{} })
		if err := s.Connect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		wait(t, welcome, "welcome") // the first offset: recovery is possible from now on
		id := s.ID()
		for _, fault := range []struct {
			name   string
			inject func()
			reason []string
		}{
			{"hard cut", p.Cut, []string{"transport error", "transport close"}},
			{"clean close", p.CloseAll, []string{"transport close", "transport error"}},
		} {
			// An upgrade may still be under way: wait for it, then for a
			// round trip, which the server answers only once it has the
			// upgrade packet too (cut before that, it would keep the
			// session on polling, and no recovery could follow).
			waitTransport(t, c, engineio.TransportWebSocket)
			if _, err := s.EmitWithAck(ctxT(t), "echo"); err != nil {
				t.Fatal(err)
			}
			fault.inject()
			d := log.next(t, socketio.StatusDisconnected)
			if r := socketio.Reason(d.Err); r != fault.reason[0] && r != fault.reason[1] {
				t.Errorf("%s: reason %q (%v)", fault.name, r, d.Err)
			}
			rc := log.next(t, socketio.StatusReconnecting)
			if rc.Attempt != 1 || rc.Delay != delay {
				t.Errorf("%s: first reconnection %+v, want attempt 1 after the base delay", fault.name, rc)
			}
			st := log.next(t, socketio.StatusConnected)
			if !st.Recovered || !s.Recovered() || s.ID() != id {
				t.Fatalf("%s: recovered=%v, id %q -> %q", fault.name, st.Recovered, id, s.ID())
			}
		}
		reply, err := s.EmitWithAck(ctxT(t), "echo", "after")
		if err != nil {
			t.Fatal(err)
		}
		jsonEq(t, reply.Raw(0), `"after"`)
	})
}

func TestRecoveryDeliversEveryEventOnceInOrder(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		const n = 300
		// Short heartbeats: a polling server notices a lost client only
		// through them, and must have noticed before the client comes back
		// for the session to be recoverable.
		_, p, c, log := m.proxied(t, nodeserver.Options{Recovery: true, PingInterval: 300 * time.Millisecond, PingTimeout: 700 * time.Millisecond}, socketio.Options{})
		got := make(chan int, n)
		done := make(chan struct{})
		var handlerSawOffset atomic.Bool
		s := c.Socket("/", nil)
		s.On("seq", func(e *socketio.Event) {
			if e.Args.Len() != 1 {
				handlerSawOffset.Store(true)
			}
			i, _ := socketio.Arg[int](e.Args, 0)
			got <- i
		})
		s.On("stream-done", func(*socketio.Event) { close(done) })
		if err := s.Connect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		log.next(t, socketio.StatusConnected) // the first connection
		if err := s.Emit(ctxT(t), "stream", n, 10); err != nil {
			t.Fatal(err)
		}
		for range 50 {
			wait(t, got, "seq before the cut")
		}
		// The link is down for 1.5 s; the server keeps emitting, to nobody.
		p.SetRefuse(true)
		p.Cut()
		log.next(t, socketio.StatusDisconnected)
		time.Sleep(1500 * time.Millisecond)
		p.SetRefuse(false)
		st := log.next(t, socketio.StatusConnected)
		if !st.Recovered {
			t.Fatal("not recovered")
		}
		wait(t, done, "stream-done")
		close(got)
		next := 50
		for i := range got {
			if i != next {
				t.Fatalf("after the cut: got %d, want %d (lost, duplicated or reordered)", i, next)
			}
			next++
		}
		if next != n {
			t.Fatalf("received %d of %d", next, n)
		}
		if handlerSawOffset.Load() {
			t.Fatal("a handler saw the recovery offset argument")
		}
	})
}

func TestServerRestartReconnectsWithoutRecovery(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srv, _, c, log := m.proxied(t, nodeserver.Options{Recovery: true}, socketio.Options{})
		welcome := make(chan *socketio.Event, 10)
		s := c.Socket("/", nil)
		s.On("welcome", func(e *socketio.Event) { welcome <- e })
		if err := s.Connect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		wait(t, welcome, "welcome")
		id := s.ID()
		srv.Restart(t)
		st := log.next(t, socketio.StatusConnected)
		if st.Recovered || s.Recovered() || s.ID() == id {
			t.Fatalf("after a server restart: recovered=%v, id %q -> %q", st.Recovered, id, s.ID())
		}
		wait(t, welcome, "welcome after restart")
	})
}

func TestHalfOpenLinkDetectedThenReconnects(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		const interval, timeout = 300 * time.Millisecond, time.Second
		_, p, c, log := m.proxied(t, nodeserver.Options{PingInterval: interval, PingTimeout: timeout},
			socketio.Options{Engine: engineio.Options{HandshakeTimeout: time.Second}})
		s := c.Socket("/", nil)
		if err := s.Connect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		frozen := time.Now()
		p.Freeze()
		d := log.next(t, socketio.StatusDisconnected)
		if !errors.Is(d.Err, engineio.ErrPingTimeout) {
			t.Fatalf("reason %v, want ping timeout", d.Err)
		}
		if took := time.Since(frozen); took > interval+timeout+detectionSlack() {
			t.Fatalf("detected after %v, want within pingInterval+pingTimeout (%v) and slack", took, interval+timeout)
		}
		log.next(t, socketio.StatusOpenFailed) // attempts through the frozen link fail too
		p.Thaw()
		log.next(t, socketio.StatusConnected)
		if _, err := s.EmitWithAck(ctxT(t), "echo", 1); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSlowAndLaggyLinks(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		_, p, c, log := m.proxied(t, nodeserver.Options{}, socketio.Options{})
		s := c.Socket("/", &socketio.SocketOptions{AckTimeout: 5 * time.Second})
		if err := s.Connect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		blob := make([]byte, 4096)
		for i := range blob {
			blob[i] = byte(i)
		}
		p.SetLatency(300 * time.Millisecond)
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 { // in flight together: not one per round trip
			wg.Add(1)
			go func() {
				defer wg.Done()
				reply, err := s.EmitWithAck(ctxT(t), "echo", i, blob)
				if err == nil {
					b, _ := socketio.Arg[[]byte](reply, 1)
					if len(b) != len(blob) || b[4095] != blob[4095] {
						err = fmt.Errorf("ack %d: binary came back as %d bytes", i, len(b))
					}
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("with 300 ms latency: %v", err)
			}
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("20 acks took %v over a 600 ms round trip: not pipelined", took)
		}
		p.SetLatency(0)
		p.SetBandwidth(10 * 1024)
		big := make([]byte, 20*1024)
		if _, err := s.EmitWithAck(ctxT(t), "echo", big); err != nil {
			t.Fatalf("20 KB each way at 10 KB/s: %v", err)
		}
		if n := log.count(socketio.StatusDisconnected); n != 0 {
			t.Fatalf("%d disconnections on a slow but working link", n)
		}
	})
}

func TestServerDownCapsDelaysAndStaysIdle(t *testing.T) {
	srv, _, c, log := proxied(t, nodeserver.Options{}, socketio.Options{})
	s := c.Socket("/", nil)
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	log.next(t, socketio.StatusDisconnected)
	log.next(t, socketio.StatusReconnecting)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := cpuTime(t)
	time.Sleep(3 * time.Second)
	cpu := cpuTime(t) - cpu0
	runtime.GC()
	runtime.ReadMemStats(&after)
	attempts := log.count(socketio.StatusOpenFailed)
	if attempts < 5 || attempts > 20 {
		t.Fatalf("%d attempts in 3 s with delays capped at 400 ms", attempts)
	}
	for _, st := range log.snapshot() {
		if st.Kind == socketio.StatusReconnecting && st.Delay > 400*time.Millisecond {
			t.Fatalf("delay %v above the cap", st.Delay)
		}
	}
	if cpu > time.Second {
		t.Fatalf("%v of CPU in 3 s of waiting: a tight loop?", cpu)
	}
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 1<<20 {
		t.Fatalf("heap grew by %d bytes while the server was down", grew)
	}
	srv.Restart(t)
	log.next(t, socketio.StatusConnected)
}

// waitTransport waits until the client's session runs on transport.
func waitTransport(t *testing.T, c *socketio.Client, transport string) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for c.Transport() != transport {
		if time.Now().After(deadline) {
			t.Fatalf("session still on %q, want %q", c.Transport(), transport)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cpuTime is the CPU time this process has used.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestBackoffResetsOnlyAfterStableConnection(t *testing.T) {
	_, p, c, log := proxied(t, nodeserver.Options{}, socketio.Options{StableAfter: time.Minute})
	s := c.Socket("/", nil)
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	// A server that accepts and at once drops: each connection is cut as
	// soon as it is up, and the delays must keep growing (50, 100, 200,
	// 400 ms) although every reconnection succeeds at its first attempt.
	var last time.Duration
	for cycle := range 4 {
		p.Cut()
		rc := log.next(t, socketio.StatusReconnecting)
		if rc.Delay <= last || rc.Attempt != 1 {
			t.Fatalf("cycle %d: attempt %d after %v (previous delay %v): the backoff was reset by an unstable connection", cycle, rc.Attempt, rc.Delay, last)
		}
		last = rc.Delay
		log.next(t, socketio.StatusConnected)
	}
}

func TestCloseStopsReconnectingAtOnce(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	log := newStatusLog()
	c, err := socketio.New(srv.URL(), &socketio.Options{ReconnectDelay: time.Hour, OnStatus: log.record})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Socket("/", nil)
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	log.next(t, socketio.StatusReconnecting) // sleeping for an hour
	start := time.Now()
	c.Close()
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Close took %v in the middle of a backoff delay", took)
	}
}

func TestServerDisconnectAndConnectErrorAreNotRetried(t *testing.T) {
	_, _, c, log := proxied(t, nodeserver.Options{}, socketio.Options{})
	s := c.Socket("/", nil)
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := s.Emit(ctxT(t), "disconnect-me"); err != nil {
		t.Fatal(err)
	}
	log.next(t, socketio.StatusDisconnected)
	no := c.Socket("/no", nil)
	if err := no.Connect(ctxT(t)); err == nil {
		t.Fatal("/no connected")
	}
	time.Sleep(500 * time.Millisecond) // ten reconnection delays
	if s.Connected() || log.count(socketio.StatusConnectError) != 1 || log.count(socketio.StatusReconnecting) != 0 {
		t.Fatalf("retried on its own: %v", log.kinds())
	}
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatalf("the application reconnects: %v", err)
	}
}

func TestAuthFuncCalledOnEveryAttempt(t *testing.T) {
	_, p, c, log := proxied(t, nodeserver.Options{}, socketio.Options{})
	var mu sync.Mutex
	calls := 0
	s := c.Socket("/token", &socketio.SocketOptions{AuthFunc: func(context.Context) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return map[string]any{"token": "s3cret", "n": calls}, nil
	}})
	auth := collect(s, "auth")
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for want := 1; want <= 3; want++ {
		var a struct{ N int }
		if err := wait(t, auth, "auth").Args.Decode(0, &a); err != nil || a.N != want {
			t.Fatalf("connection %d was made with auth #%d (%v)", want, a.N, err)
		}
		if want < 3 {
			p.Cut()
			log.next(t, socketio.StatusConnected)
		}
	}
}

func TestEmitsWaitInBufferWhileReconnecting(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srv, _, c, log := m.proxied(t, nodeserver.Options{Recovery: true}, socketio.Options{})
		s := c.Socket("/", &socketio.SocketOptions{SendBuffer: 100})
		welcome := collect(s, "welcome")
		if err := s.Connect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		wait(t, welcome, "welcome")
		srv.Stop()
		log.next(t, socketio.StatusDisconnected)
		ctx := ctxT(t)
		for i := range 100 {
			if err := s.Emit(ctx, "count", i); err != nil {
				t.Fatalf("emit %d while disconnected: %v", i, err)
			}
		}
		if err := s.Emit(ctx, "count", 100); !errors.Is(err, socketio.ErrSendBufferFull) {
			t.Fatalf("emit beyond the buffer: %v", err)
		}
		if err := s.EmitVolatile(ctx, "count", 100); err != nil {
			t.Fatalf("volatile emit while disconnected must be dropped quietly: %v", err)
		}
		srv.Restart(t)
		log.next(t, socketio.StatusConnected)
		reply, err := s.EmitWithAck(ctx, "count-stats")
		if err != nil {
			t.Fatal(err)
		}
		var st struct{ Received, OutOfOrder, Last int }
		reply.Decode(0, &st)
		if st.Received != 100 || st.OutOfOrder != 0 || st.Last != 99 {
			t.Fatalf("server saw %+v, want 0..99 in order and nothing else", st)
		}
	})
}

func TestFailFastWithoutBuffer(t *testing.T) {
	srv, _, c, log := proxied(t, nodeserver.Options{}, socketio.Options{})
	s := c.Socket("/", &socketio.SocketOptions{SendBuffer: -1})
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	log.next(t, socketio.StatusDisconnected)
	if err := s.Emit(ctxT(t), "count", 1); !errors.Is(err, socketio.ErrNotConnected) {
		t.Fatalf("got %v, want ErrNotConnected at once", err)
	}
}

func TestAckRetriesSurviveACut(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		_, p, c, _ := m.proxied(t, nodeserver.Options{}, socketio.Options{})
		s := c.Socket("/", &socketio.SocketOptions{AckTimeout: 2 * time.Second, Retries: 5})
		if err := s.Connect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		const n = 50
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				reply, err := s.EmitWithAck(ctxT(t), "slow-echo", 200, i)
				if err == nil {
					if got, _ := socketio.Arg[int](reply, 0); got != i {
						err = fmt.Errorf("ack for %d carried %d", i, got)
					}
				}
				errs <- err
			}()
		}
		time.Sleep(100 * time.Millisecond) // all sent, none acked yet
		p.Cut()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestReconnectAttemptsGiveUp(t *testing.T) {
	srv, _, c, log := proxied(t, nodeserver.Options{}, socketio.Options{ReconnectAttempts: 3})
	reasons := make(chan error, 2)
	s := c.Socket("/", &socketio.SocketOptions{OnDisconnect: func(r error) { reasons <- r }})
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	st := log.next(t, socketio.StatusReconnectFailed)
	if n := log.count(socketio.StatusOpenFailed); n != 3 {
		t.Fatalf("%d failed attempts before giving up, want 3", n)
	}
	if st.Err == nil {
		t.Fatal("no error with the reconnect failure")
	}
	wait(t, reasons, "the disconnection")
	srv.Restart(t)
	time.Sleep(300 * time.Millisecond) // more than the reconnection delays
	if s.Connected() {
		t.Fatal("reconnected after giving up")
	}
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatalf("the application connects again: %v", err)
	}
}
