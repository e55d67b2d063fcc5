package faultproxy_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sioagent/sioagent/internal/faultproxy"
)

const (
	// ioTimeout bounds every read or write of a test that expects data.
	ioTimeout = 3 * time.Second
	// frozenWait is how long a read must stay without data while frozen.
	frozenWait = 300 * time.Millisecond
	// pollInterval is the pause between two looks at a counter.
	pollInterval = 5 * time.Millisecond
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// echoServer is an upstream that writes back what it reads and closes its
// connection when the client does.
type echoServer struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func startEcho(t *testing.T) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echoServer{ln: ln, conns: make(map[net.Conn]struct{})}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.mu.Lock()
			e.conns[c] = struct{}{}
			e.mu.Unlock()
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				_, _ = io.Copy(c, c)
				_ = c.Close()
				e.mu.Lock()
				delete(e.conns, c)
				e.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		e.mu.Lock()
		for c := range e.conns {
			_ = c.Close()
		}
		e.mu.Unlock()
		e.wg.Wait()
	})
	return e
}

func (e *echoServer) addr() string { return e.ln.Addr().String() }

// setup starts an echo server and a proxy in front of it.
func setup(t *testing.T) *faultproxy.Proxy {
	t.Helper()
	return faultproxy.Start(t, startEcho(t).addr())
}

func dial(t *testing.T, p *faultproxy.Proxy) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr(), ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c.(*net.TCPConn)
}

// roundTrip writes msg and reads it back.
func roundTrip(t *testing.T, c net.Conn, msg []byte) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	if _, err := c.Write(msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("read %q, want %q", got, msg)
	}
}

// readErr waits for the read error of a connection that should fail.
func readErr(t *testing.T, c net.Conn) error {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
	n, err := c.Read(make([]byte, 1))
	if err == nil {
		t.Fatalf("read %d bytes, want an error", n)
	}
	return err
}

// waitFor polls cond until it holds or ioTimeout passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(pollInterval)
	}
}

// echoBulk sends data through c in a goroutine and reads it back.
func echoBulk(t *testing.T, c net.Conn, data []byte) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(2 * ioTimeout))
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		werr <- err
	}()
	got := make([]byte, len(data))
	_, rerr := io.ReadFull(c, got)
	if err := <-werr; err != nil {
		t.Fatalf("write: %v", err)
	}
	if rerr != nil {
		t.Fatalf("read: %v", rerr)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("data came back changed")
	}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestForwarding(t *testing.T) {
	p := setup(t)
	if want := "http://" + p.Addr(); p.URL() != want {
		t.Fatalf("URL() = %q, want %q", p.URL(), want)
	}
	c := dial(t, p)
	roundTrip(t, c, []byte("hello"))
	echoBulk(t, c, randomBytes(t, 1<<20))
}

// TestNewWithoutTesting uses the constructor for programs: the caller owns
// Close, which leaves no goroutine behind.
func TestNewWithoutTesting(t *testing.T) {
	echo := startEcho(t)
	ignore := goleak.IgnoreCurrent()
	p, err := faultproxy.New(echo.addr())
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", p.Addr(), ioTimeout)
	if err != nil {
		p.Close()
		t.Fatal(err)
	}
	roundTrip(t, c, []byte("no testing.TB"))
	p.Close()
	if err := readErr(t, c); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("connection still open after Close")
	}
	_ = c.Close()
	goleak.VerifyNone(t, ignore)
}

func TestLatencyPreservesData(t *testing.T) {
	p := setup(t)
	p.SetLatency(20 * time.Millisecond)
	echoBulk(t, dial(t, p), randomBytes(t, 4<<20))
}

func TestCutResets(t *testing.T) {
	p := setup(t)
	c := dial(t, p)
	roundTrip(t, c, []byte("before"))
	p.Cut()
	if err := readErr(t, c); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read after Cut: %v, want ECONNRESET", err)
	}
	waitFor(t, "Open() == 0", func() bool { return p.Open() == 0 })
	roundTrip(t, dial(t, p), []byte("after")) // still accepting
}

func TestCloseAllSendsFIN(t *testing.T) {
	p := setup(t)
	c := dial(t, p)
	roundTrip(t, c, []byte("before"))
	p.CloseAll()
	if err := readErr(t, c); !errors.Is(err, io.EOF) {
		t.Fatalf("read after CloseAll: %v, want io.EOF", err)
	}
	waitFor(t, "Open() == 0", func() bool { return p.Open() == 0 })
	roundTrip(t, dial(t, p), []byte("after"))
}

func TestFreezeHoldsThawDelivers(t *testing.T) {
	p := setup(t)
	c := dial(t, p)
	roundTrip(t, c, []byte("before"))

	p.Freeze()
	fresh := dial(t, p) // accepted while frozen: frozen too
	for _, conn := range []net.Conn{c, fresh} {
		if _, err := conn.Write([]byte("held")); err != nil {
			t.Fatal(err)
		}
	}
	// Both reads wait concurrently, so the test waits frozenWait once.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, conn := range []net.Conn{c, fresh} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = conn.SetReadDeadline(time.Now().Add(frozenWait))
			n, err := conn.Read(make([]byte, 4))
			if err == nil {
				err = errors.New("read " + string(rune('0'+n)) + " bytes")
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("conn %d: read while frozen: %v, want a timeout", i, err)
		}
	}
	if got := p.Open(); got != 2 {
		t.Fatalf("Open() = %d while frozen, want 2", got)
	}

	p.Thaw()
	for i, conn := range []net.Conn{c, fresh} {
		_ = conn.SetReadDeadline(time.Now().Add(ioTimeout))
		got := make([]byte, 4)
		if _, err := io.ReadFull(conn, got); err != nil || string(got) != "held" {
			t.Fatalf("conn %d after Thaw: %q, %v; want the held data", i, got, err)
		}
	}
	roundTrip(t, c, []byte("after"))
}

func TestLatency(t *testing.T) {
	const latency = 200 * time.Millisecond
	p := setup(t)
	c := dial(t, p)
	roundTrip(t, c, []byte("warm")) // the dial to upstream is not measured
	p.SetLatency(latency)

	start := time.Now()
	roundTrip(t, c, []byte("ping"))
	if rtt := time.Since(start); rtt < 2*latency || rtt > ioTimeout {
		t.Fatalf("round trip took %v, want >= %v (and < %v)", rtt, 2*latency, ioTimeout)
	}

	// Pipelined writes overlap: latency delays chunks, it does not stall
	// the stream. One round trip per write in turn would take serial; the
	// bound is half of it, so a loaded machine has seconds of slack and a
	// stream that stalls still fails.
	const writes = 20
	const serial = writes * 2 * latency
	msg := []byte("0123456789")
	start = time.Now()
	done := make(chan error, 1)
	go func() {
		for range writes {
			if _, err := c.Write(msg); err != nil {
				done <- err
				return
			}
			time.Sleep(time.Millisecond) // separate chunks
		}
		done <- nil
	}()
	_ = c.SetReadDeadline(time.Now().Add(serial))
	got := make([]byte, writes*len(msg))
	_, err := io.ReadFull(c, got)
	if werr := <-done; werr != nil {
		t.Fatalf("write: %v", werr)
	}
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, bytes.Repeat(msg, writes)) {
		t.Fatal("pipelined data came back changed or reordered")
	}
	elapsed := time.Since(start)
	if limit := serial / 2; elapsed < 2*latency || elapsed > limit {
		t.Fatalf("%d pipelined writes took %v, want between %v and %v", writes, elapsed, 2*latency, limit)
	}
	t.Logf("round trip >= %v; %d pipelined round trips in %v", 2*latency, writes, elapsed)

	// A delayed round trip takes at least 2*latency (timers never fire
	// early): anything below is not delayed, however loaded the machine.
	p.SetLatency(0)
	start = time.Now()
	roundTrip(t, c, []byte("fast"))
	if rtt := time.Since(start); rtt >= 2*latency {
		t.Fatalf("round trip took %v after SetLatency(0), as long as a delayed one (%v)", rtt, 2*latency)
	}
}

func TestBandwidth(t *testing.T) {
	const (
		rate = 10_000
		size = 20_000
		min  = 1500 * time.Millisecond
	)
	p := setup(t)
	c := dial(t, p)
	roundTrip(t, c, []byte("warm"))
	p.SetBandwidth(rate)
	start := time.Now()
	echoBulk(t, c, randomBytes(t, size))
	elapsed := time.Since(start)
	if elapsed < min {
		t.Fatalf("%d bytes at %d B/s took %v, want >= %v", size, rate, elapsed, min)
	}
	t.Logf("%d bytes at %d B/s each way: %v", size, rate, elapsed)

	// Limited, the echo takes at least min (the limiter's sleeps never end
	// early): anything below is not limited, however loaded the machine.
	p.SetBandwidth(0)
	start = time.Now()
	echoBulk(t, c, randomBytes(t, size))
	if elapsed := time.Since(start); elapsed >= min {
		t.Fatalf("unlimited again, %d bytes took %v, as long as at %d B/s (%v)", size, elapsed, rate, min)
	}
}

func TestRefuse(t *testing.T) {
	p := setup(t)
	p.SetRefuse(true)
	c := dial(t, p) // the dial succeeds: the host is up
	if err := readErr(t, c); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("first read while refusing: %v, want ECONNRESET", err)
	}
	if got := p.Accepted(); got != 1 {
		t.Fatalf("Accepted() = %d, want 1 (refused connections count)", got)
	}
	if got := p.Open(); got != 0 {
		t.Fatalf("Open() = %d, want 0", got)
	}
	p.SetRefuse(false)
	roundTrip(t, dial(t, p), []byte("back"))
	if got := p.Accepted(); got != 2 {
		t.Fatalf("Accepted() = %d, want 2", got)
	}
}

func TestUpstreamDownResets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	p := faultproxy.Start(t, addr)
	if err := readErr(t, dial(t, p)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read with upstream down: %v, want ECONNRESET", err)
	}
	waitFor(t, "Open() == 0", func() bool { return p.Open() == 0 })
}

func TestCounts(t *testing.T) {
	p := setup(t)
	if p.Accepted() != 0 || p.Open() != 0 {
		t.Fatalf("fresh proxy: Accepted() = %d, Open() = %d", p.Accepted(), p.Open())
	}
	a, b := dial(t, p), dial(t, p)
	roundTrip(t, a, []byte("a"))
	roundTrip(t, b, []byte("b"))
	if p.Accepted() != 2 || p.Open() != 2 {
		t.Fatalf("two connections: Accepted() = %d, Open() = %d", p.Accepted(), p.Open())
	}
	_ = a.Close() // FIN through the proxy, the echo server closes back
	waitFor(t, "Open() == 1", func() bool { return p.Open() == 1 })
	p.Cut()
	waitFor(t, "Open() == 0", func() bool { return p.Open() == 0 })
	if got := p.Accepted(); got != 2 {
		t.Fatalf("Accepted() = %d, want 2", got)
	}
}

// Forwarded counts every byte delivered, each way, over every
// connection, with and without latency.
func TestForwardedCountsBytes(t *testing.T) {
	p := setup(t)
	if up, down := p.Forwarded(); up != 0 || down != 0 {
		t.Fatalf("fresh proxy: Forwarded() = %d, %d", up, down)
	}
	a, b := dial(t, p), dial(t, p)
	echoBulk(t, a, randomBytes(t, 300<<10))
	p.SetLatency(10 * time.Millisecond)
	roundTrip(t, b, []byte("hello"))
	const want = 300<<10 + 5
	// A byte is counted once the write that delivered it returned, which
	// can be just after the peer read it: wait for the counts, then check
	// they stop there.
	waitFor(t, "Forwarded() to reach the bytes sent", func() bool {
		up, down := p.Forwarded()
		return up >= want && down >= want
	})
	if up, down := p.Forwarded(); up != want || down != want {
		t.Fatalf("Forwarded() = %d, %d; want %d each way", up, down, want)
	}
}

func TestHalfClosePropagates(t *testing.T) {
	p := setup(t)
	c := dial(t, p)
	if _, err := c.Write([]byte("last words")); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "last words" {
		t.Fatalf("after CloseWrite: %q, %v", got, err)
	}
	waitFor(t, "Open() == 0", func() bool { return p.Open() == 0 })
}

func TestCloseLeavesNothing(t *testing.T) {
	echo := startEcho(t)
	ignore := goleak.IgnoreCurrent()
	p := faultproxy.Start(t, echo.addr())
	p.SetLatency(50 * time.Millisecond)
	c := dial(t, p)
	roundTrip(t, c, []byte("x"))
	p.Freeze()
	frozen := dial(t, p)
	waitFor(t, "two open connections", func() bool { return p.Open() == 2 })
	p.SetRefuse(true)
	refused := dial(t, p) // Close resets it before RefuseDelay
	waitFor(t, "three accepted connections", func() bool { return p.Accepted() == 3 })

	var wg sync.WaitGroup
	for range 3 { // concurrent and repeated Close
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Close()
		}()
	}
	wg.Wait()
	p.Close()
	if got := p.Open(); got != 0 {
		t.Fatalf("Open() = %d after Close", got)
	}
	for _, conn := range []net.Conn{c, frozen, refused} {
		if err := readErr(t, conn); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("connection still open after Close")
		}
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), ioTimeout); err == nil {
		t.Fatal("dial succeeded after Close")
	}
	goleak.VerifyNone(t, ignore)
}

// TestConcurrentControl changes every setting while data flows, for -race.
func TestConcurrentControl(t *testing.T) {
	p := setup(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	controls := []func(){
		func() { p.Freeze(); p.Thaw() },
		func() { p.SetLatency(time.Millisecond); p.SetLatency(0) },
		func() { p.SetBandwidth(1 << 20); p.SetBandwidth(0) },
		func() { p.SetRefuse(true); p.SetRefuse(false) },
		func() { _, _, _, _ = p.Accepted(), p.Open(), p.Addr(), p.URL() },
	}
	for _, control := range controls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					control()
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	// Traffic on connections that may be refused: errors are expected,
	// hangs and races are not.
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", p.Addr(), ioTimeout)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(ioTimeout))
		if _, err := c.Write([]byte("data")); err == nil {
			_, _ = io.ReadFull(c, make([]byte, 4))
		}
		if time.Now().UnixNano()%2 == 0 {
			p.Cut()
		} else {
			p.CloseAll()
		}
		_ = c.Close()
	}
	close(stop)
	wg.Wait()
	p.Thaw()
	p.SetRefuse(false)
	roundTrip(t, dial(t, p), []byte("still works"))
}
