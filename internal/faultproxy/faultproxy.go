// Package faultproxy is a small fault-injecting TCP proxy for tests.
//
// Tests put it between a client and a real server to inject the network
// faults the delivery guarantees are tested against: hard cuts (RST), clean closes (FIN),
// half-open links, latency, slow links and refused connections.
//
//	srv := nodeserver.Start(t, nodeserver.Options{})
//	p := faultproxy.Start(t, strings.TrimPrefix(srv.URL(), "http://"))
//	c := dial(p.URL()) // the client talks to the proxy
//	p.Cut()            // the client sees ECONNRESET and reconnects
//
// Every accepted connection is forwarded to the upstream address by two
// goroutines, one per direction; the accept loop is the only other one.
// Settings apply at once to open connections and to new ones. All methods
// are safe for concurrent use. The proxy stops in t.Cleanup, and Close waits
// for every goroutine, so tests may use goleak after it.
//
// Forwarded counts the bytes delivered each way, so that a test or a
// benchmark can measure what crossed the "link" (bench/linkfill does).
//
// Programs that are not tests, such as the soak command in bench/soak,
// create the proxy with New, which returns an error instead of failing a
// test, and call Close themselves.
package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	// DialTimeout bounds the dial to upstream for each accepted connection.
	// When the dial fails the accepted connection is reset RefuseDelay after
	// it was accepted, as with SetRefuse.
	DialTimeout = 5 * time.Second

	// RefuseDelay is how long a refused connection stays accepted before it
	// is reset. Without it the RST can reach a loopback client before its
	// connect(2) has completed in Go, and the dial itself fails; with it the
	// dial succeeds and the first read (or a write) fails.
	RefuseDelay = 50 * time.Millisecond

	// BufferSize is the largest chunk a direction reads at once.
	BufferSize = 32 << 10

	// MaxQueuedBytes bounds the data a direction holds in the proxy while
	// it waits for the latency to elapse. When it is reached the direction
	// stops reading, so the sender is slowed down by TCP flow control
	// instead of the proxy growing without bound.
	MaxQueuedBytes = 1 << 20

	// BandwidthSlicesPerSecond sets the granularity of SetBandwidth: a
	// direction reads at most bytesPerSecond/BandwidthSlicesPerSecond bytes
	// at once (at least 1), so the burst of a limited link is 1/10 s of
	// data.
	BandwidthSlicesPerSecond = 10

	// acceptRetryDelay is the pause after an Accept error that is not the
	// listener being closed (for example EMFILE), so the loop does not spin.
	acceptRetryDelay = 10 * time.Millisecond
)

// settings are the fault settings every direction reads before each step.
type settings struct {
	frozen    bool
	latency   time.Duration
	bandwidth int
	// gen changes with every setting, so that a direction can tell that
	// the settings changed between its snapshot and its Read.
	gen uint64
}

// Proxy is a running fault-injecting proxy. Create it with Start in tests,
// or with New elsewhere.
type Proxy struct {
	upstream string
	ln       *net.TCPListener
	done     chan struct{} // closed by Close
	wg       sync.WaitGroup

	closeOnce sync.Once

	// up and down count the bytes delivered client to server and server
	// to client: see Forwarded.
	up, down atomic.Int64

	mu       sync.Mutex
	set      settings
	refuse   bool
	accepted int
	closed   bool
	conns    map[*pair]struct{}
}

// Start listens on 127.0.0.1:0 and forwards every accepted connection to
// upstream ("127.0.0.1:PORT"); it stops in t.Cleanup. A listen error fails
// the test.
func Start(t testing.TB, upstream string) *Proxy {
	t.Helper()
	p, err := New(upstream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// New is Start for programs that are not tests: it listens on 127.0.0.1:0
// and forwards every accepted connection to upstream ("127.0.0.1:PORT"),
// and returns the listen error if any. The caller must call Close.
func New(upstream string) (*Proxy, error) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{
		upstream: upstream,
		ln:       ln,
		done:     make(chan struct{}),
		conns:    make(map[*pair]struct{}),
	}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr returns the address the proxy listens on, "127.0.0.1:PORT".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL returns "http://" + Addr(), ready for an HTTP or Socket.IO client.
func (p *Proxy) URL() string { return "http://" + p.Addr() }

// Cut is a hard cut: every open connection is reset on both sides
// (SetLinger(0) then Close), so both peers see ECONNRESET. Data held in the
// proxy is dropped. New connections are still accepted.
func (p *Proxy) Cut() { p.closeConns(closeReset) }

// CloseAll is a clean close: every open connection is shut down with a FIN
// on both sides, so both peers read io.EOF. Data held in the proxy is
// dropped. If a peer had sent data the proxy had not read yet, the kernel
// follows the FIN with a RST; the peer's read still returns io.EOF first.
// New connections are still accepted.
func (p *Proxy) CloseAll() { p.closeConns(closeGraceful) }

// Freeze makes every link half-open: the proxy stops forwarding in both
// directions without closing anything, and new connections are accepted
// (and dialed upstream) but frozen too.
//
// Data is held, not dropped: the proxy stops reading, so what the peers
// send stays in the kernel socket buffers (plus whatever the proxy had
// already read and queued for SetLatency), and once those buffers are full
// the senders' writes block, as on a link that stopped acknowledging. A
// peer closing its end is not seen by the other side either. Thaw delivers
// everything that was held, in order. A write already in progress when
// Freeze is called completes.
func (p *Proxy) Freeze() { p.update(func(s *settings) { s.frozen = true }) }

// Thaw resumes forwarding after Freeze; held data is then delivered.
func (p *Proxy) Thaw() { p.update(func(s *settings) { s.frozen = false }) }

// SetLatency delays each chunk by d per direction: a chunk is delivered d
// after the proxy read it, and order is preserved. The stream is not
// stalled, so throughput stays high (up to MaxQueuedBytes in flight per
// direction). A round trip through the proxy therefore takes at least 2*d.
// Chunks already queued keep their read time and are delivered d (the new
// value) after it. d <= 0 removes the latency.
func (p *Proxy) SetLatency(d time.Duration) {
	p.update(func(s *settings) { s.latency = max(d, 0) })
}

// SetBandwidth limits every direction of every connection to bytesPerSecond
// (it is not a budget shared by the connections). The proxy paces its
// reads, so a sender faster than the link is slowed down by TCP flow
// control. 0 (or less) means unlimited.
func (p *Proxy) SetBandwidth(bytesPerSecond int) {
	p.update(func(s *settings) { s.bandwidth = max(bytesPerSecond, 0) })
}

// SetRefuse makes the proxy refuse new connections while refuse is true:
// they are accepted and reset RefuseDelay later, so a client's dial
// succeeds and its first read fails with ECONNRESET (the host is up, the
// server down). Refused connections count in Accepted, not in Open. Open
// connections are not affected.
func (p *Proxy) SetRefuse(refuse bool) {
	p.mu.Lock()
	p.refuse = refuse
	p.mu.Unlock()
}

// Accepted returns the number of connections accepted so far, including
// refused ones.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Open returns the number of connections currently open: accepted, not
// refused, and not yet closed on both sides.
func (p *Proxy) Open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Forwarded returns the bytes the proxy has delivered so far over every
// connection, from the clients to the server (up) and back (down): what
// went over the "link", TCP payload only (no TCP/IP headers). Data held
// (latency, Freeze) and data dropped by a cut are not counted. Take it
// before and after a transfer to measure it.
func (p *Proxy) Forwarded() (up, down int64) { return p.up.Load(), p.down.Load() }

// Close stops listening, closes every connection and waits for every
// goroutine of the proxy. It is idempotent and safe to call concurrently;
// Start calls it in t.Cleanup. A frozen proxy is closed too: Close does not
// wait for a Thaw.
func (p *Proxy) Close() {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.done)
		_ = p.ln.Close()
		p.closeConns(closePlain)
		p.wg.Wait()
	})
}

// update changes the settings, then wakes every direction so that it
// applies them at once.
func (p *Proxy) update(change func(*settings)) {
	p.mu.Lock()
	change(&p.set)
	p.set.gen++
	pairs := p.snapshot()
	p.mu.Unlock()
	for _, c := range pairs {
		c.poke()
	}
}

// settings returns a copy of the current settings.
func (p *Proxy) settings() settings {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.set
}

// snapshot lists the open connections; p.mu must be held.
func (p *Proxy) snapshot() []*pair {
	pairs := make([]*pair, 0, len(p.conns))
	for c := range p.conns {
		pairs = append(pairs, c)
	}
	return pairs
}

func (p *Proxy) closeConns(mode closeMode) {
	p.mu.Lock()
	pairs := p.snapshot()
	p.mu.Unlock()
	for _, c := range pairs {
		c.teardown(mode)
	}
}

func (p *Proxy) remove(c *pair) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// refusal is a refused connection waiting for its reset.
type refusal struct {
	conn *net.TCPConn
	at   time.Time
}

// acceptLoop accepts connections and starts their pairs. It also resets
// refused connections when their RefuseDelay has passed, waking up for
// them through the listener's deadline, so refusals need no goroutine.
func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	var pending []refusal // in order of at
	defer func() {
		for _, r := range pending {
			reset(r.conn)
		}
	}()
	for {
		for len(pending) > 0 && !time.Now().Before(pending[0].at) {
			reset(pending[0].conn)
			pending[0] = refusal{}
			pending = pending[1:]
		}
		var deadline time.Time
		if len(pending) > 0 {
			deadline = pending[0].at
		}
		_ = p.ln.SetDeadline(deadline)
		conn, err := p.ln.AcceptTCP()
		if err != nil {
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
				continue // a refusal is due
			case errors.Is(err, net.ErrClosed):
				return
			}
			t := time.NewTimer(acceptRetryDelay)
			select {
			case <-p.done:
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		p.mu.Lock()
		p.accepted++
		if p.closed {
			p.mu.Unlock()
			_ = conn.Close()
			return
		}
		if p.refuse {
			p.mu.Unlock()
			pending = append(pending, refusal{conn: conn, at: time.Now().Add(RefuseDelay)})
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		c := &pair{
			p:          p,
			client:     conn,
			accepted:   time.Now(),
			done:       make(chan struct{}),
			cancelDial: cancel,
		}
		p.conns[c] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go c.run(ctx)
	}
}

// reset closes conn with a RST.
func reset(conn *net.TCPConn) {
	_ = conn.SetLinger(0)
	_ = conn.Close()
}

// closeMode says how a connection pair is closed.
type closeMode int

const (
	closePlain    closeMode = iota // Close: FIN, or RST if unread data
	closeReset                     // SetLinger(0) + Close: RST
	closeGraceful                  // CloseWrite + Close: FIN first
)

// pair is one proxied connection: the accepted client side and the dialed
// server side, forwarded by two directions.
type pair struct {
	p          *Proxy
	client     *net.TCPConn
	accepted   time.Time
	done       chan struct{} // closed by teardown
	cancelDial context.CancelFunc

	mu       sync.Mutex
	server   *net.TCPConn // nil until dialed
	dirs     []*direction
	finished int // directions that forwarded EOF
	dead     bool
}

// run dials upstream, starts the server-to-client direction and runs the
// client-to-server one.
func (c *pair) run(ctx context.Context) {
	defer c.p.wg.Done()
	d := net.Dialer{Timeout: DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", c.p.upstream)
	if err != nil {
		t := time.NewTimer(time.Until(c.accepted.Add(RefuseDelay)))
		defer t.Stop()
		select {
		case <-c.done:
		case <-t.C:
			c.teardown(closeReset)
		}
		return
	}
	server := conn.(*net.TCPConn)
	up := newDirection(c, c.client, server, &c.p.up)
	down := newDirection(c, server, c.client, &c.p.down)
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		reset(server)
		return
	}
	c.server = server
	c.dirs = []*direction{up, down}
	c.p.wg.Add(1) // c.run is counted, so the counter is not zero here
	c.mu.Unlock()
	go func() {
		defer c.p.wg.Done()
		down.run()
	}()
	up.run()
}

// poke wakes both directions so that they read the settings again.
func (c *pair) poke() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range c.dirs {
		d.poke()
	}
}

// finish records that one direction forwarded EOF; the pair is closed
// when both have.
func (c *pair) finish() {
	c.mu.Lock()
	c.finished++
	both := c.finished == 2
	c.mu.Unlock()
	if both {
		c.teardown(closePlain)
	}
}

// teardown closes both sides once and forgets the pair. The directions
// notice through their failing I/O or through c.done.
func (c *pair) teardown(mode closeMode) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	c.dead = true
	conns := []*net.TCPConn{c.client}
	if c.server != nil {
		conns = append(conns, c.server)
	}
	c.mu.Unlock()
	c.cancelDial()
	close(c.done)
	for _, conn := range conns {
		switch mode {
		case closeReset:
			_ = conn.SetLinger(0)
		case closeGraceful:
			_ = conn.CloseWrite()
		}
	}
	for _, conn := range conns {
		_ = conn.Close()
	}
	c.p.remove(c)
}
