package engineio_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/protocol/engineio"
)

// Heartbeat settings for the tests that watch several ping rounds; the
// generous timeout avoids flakes on a loaded machine.
const (
	fastPingInterval = 200 * time.Millisecond
	fastPingTimeout  = time.Second
)

// TestModes runs the basic life of a session in each mode: handshake,
// Socket.IO CONNECT, text and binary echo, upgrade, clean Close.
func TestModes(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			srv := nodeserver.Start(t, nodeserver.Options{})
			c := newClient(t, srv.URL(), m, nil)
			checkHandshake(t, c.s.Handshake(), m)
			c.connect()
			echoText(c, 1, "x")
			echoBinary(c, 2, []byte{0, 1, 2, 0xfe, 0xff})
			if m.name == "upgrade" {
				if err := c.waitUpgrade(); err != nil {
					t.Fatalf("upgrade: %v", err)
				}
			}
			if got := c.s.Transport(); got != m.final {
				t.Fatalf("Transport() = %q, want %q", got, m.final)
			}
			echoText(c, 3, "after")
			echoBinary(c, 4, bytes.Repeat([]byte{7}, 3000))
			c.s.Close()
			if !errors.Is(c.s.Err(), engineio.ErrClosed) {
				t.Fatalf("Err after Close = %v", c.s.Err())
			}
		})
	}
}

func checkHandshake(t *testing.T, hs engineio.Handshake, m mode) {
	t.Helper()
	if hs.SID == "" || hs.PingInterval != 25000 || hs.PingTimeout != 20000 || hs.MaxPayload != 1e6 {
		t.Fatalf("handshake %+v", hs)
	}
	var want []string
	if m.transports != nil && m.transports[0] == engineio.TransportPolling {
		want = []string{engineio.TransportWebSocket}
	}
	if !slices.Equal(hs.Upgrades, want) {
		t.Fatalf("upgrades %q, want %q", hs.Upgrades, want)
	}
}

// echoText emits echo(s) with an ack and expects the ack.
func echoText(c *client, id int, s string) {
	c.t.Helper()
	c.send(fmt.Sprintf(`2%d["echo",%q]`, id, s))
	c.expect(fmt.Sprintf(`3%d[%q]`, id, s))
}

// echoBinary emits echo(<data>) as a BINARY_EVENT and expects the
// BINARY_ACK with the same attachment.
func echoBinary(c *client, id int, data []byte) {
	c.t.Helper()
	event := text(fmt.Sprintf(`51-%d["echo",{"_placeholder":true,"num":0}]`, id))
	if err := c.s.Send(context.Background(), event, binary(data)); err != nil {
		c.t.Fatal(err)
	}
	c.expect(fmt.Sprintf(`61-%d[{"_placeholder":true,"num":0}]`, id))
	if m := c.next(); !m.binary || !bytes.Equal([]byte(m.data), data) {
		c.t.Fatalf("attachment: binary %v, %d bytes, want %d bytes", m.binary, len(m.data), len(data))
	}
}

// TestHeartbeatInEveryMode lets the server ping several times and checks
// that the session answered every ping and never pinged itself.
func TestHeartbeatInEveryMode(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			srv := nodeserver.Start(t, nodeserver.Options{PingInterval: fastPingInterval, PingTimeout: fastPingTimeout})
			c := newClient(t, srv.URL(), m, nil)
			c.connect()
			select {
			case <-c.s.Done():
				t.Fatalf("session ended while pings were answered: %v", c.s.Err())
			case <-time.After(8 * fastPingInterval):
			}
			pings, pongs := c.rawStats(1)
			if pings != 0 || pongs < 4 {
				t.Fatalf("the server saw %d pings and %d pongs from the client", pings, pongs)
			}
			if got := c.s.Transport(); got != m.final {
				t.Fatalf("Transport() = %q, want %q", got, m.final)
			}
		})
	}
}

// TestPollingSplitsBodiesAtMaxPayload queues many packets at once on a
// server with a small maxPayload: every POST body must fit, and all the
// acks must come back in order.
func TestPollingSplitsBodiesAtMaxPayload(t *testing.T) {
	const maxPayload, n = 2000, 300
	srv := nodeserver.Start(t, nodeserver.Options{MaxPayload: maxPayload})
	proxy := newForwardProxy(t)
	c := newClient(t, srv.URL(), modes[1], &engineio.Options{Proxy: proxy.proxyFunc()})
	c.connect()
	attachment := bytes.Repeat([]byte{0xa5}, 700) // 936 bytes of base64
	for i := range n {
		group := []engineio.Packet{text(fmt.Sprintf(`2%d["echo",%d,%q]`, i, i, strings.Repeat("y", i)))}
		if i%10 == 0 {
			group = []engineio.Packet{text(fmt.Sprintf(`51-%d["echo",{"_placeholder":true,"num":0}]`, i)), binary(attachment)}
		}
		if err := c.s.Send(context.Background(), group...); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if i%10 == 0 {
			c.expect(fmt.Sprintf(`61-%d[{"_placeholder":true,"num":0}]`, i))
			if m := c.next(); !m.binary || len(m.data) != len(attachment) {
				t.Fatalf("ack %d: bad attachment", i)
			}
			continue
		}
		c.expect(fmt.Sprintf(`3%d[%d,%q]`, i, i, strings.Repeat("y", i)))
	}
	proxy.mu.Lock()
	posts, largest := proxy.methods[http.MethodPost], proxy.maxPost
	proxy.mu.Unlock()
	if largest > maxPayload || posts < 10 {
		t.Fatalf("%d POSTs, largest body %d bytes (maxPayload %d)", posts, largest, maxPayload)
	}
	t.Logf("%d POSTs, largest body %d bytes", posts, largest)
}

// TestPayloadTooLargePerTransport checks the Send limit: on polling binary
// data counts as base64.
func TestPayloadTooLargePerTransport(t *testing.T) {
	const maxPayload = 2000
	srv := nodeserver.Start(t, nodeserver.Options{MaxPayload: maxPayload})
	blob := bytes.Repeat([]byte{1}, 1600) // 2136 bytes as base64
	for _, m := range modes[:2] {
		t.Run(m.name, func(t *testing.T) {
			c := newClient(t, srv.URL(), m, nil)
			c.connect()
			err := c.s.Send(context.Background(), text(strings.Repeat("z", maxPayload)))
			if !errors.Is(err, engineio.ErrPayloadTooLarge) {
				t.Fatalf("oversized text: %v", err)
			}
			err = c.s.Send(context.Background(), text(`51-1["echo",{"_placeholder":true,"num":0}]`), binary(blob))
			if m.final == engineio.TransportPolling {
				if !errors.Is(err, engineio.ErrPayloadTooLarge) {
					t.Fatalf("binary larger than maxPayload as base64: %v", err)
				}
				echoText(c, 2, "still fine")
				return
			}
			if err != nil {
				t.Fatalf("binary within maxPayload on WebSocket: %v", err)
			}
			c.expect(`61-1[{"_placeholder":true,"num":0}]`)
			c.next()
		})
	}
}

// TestUpgradeLosesNothing streams numbered echo requests while the session
// upgrades: every ack must arrive once, in order, some over polling and
// the rest over the WebSocket. A short ping interval makes pings cross the
// upgrade too.
func TestUpgradeLosesNothing(t *testing.T) {
	const after, most, probeDelay = 100, 5000, 300 * time.Millisecond
	srv := nodeserver.Start(t, nodeserver.Options{PingInterval: 250 * time.Millisecond, PingTimeout: fastPingTimeout})
	// Delay the WebSocket so that the upgrade surely happens mid-stream.
	url := newReverseProxy(t, srv.URL(), func(w http.ResponseWriter, r *http.Request) bool {
		if isWebSocket(r) {
			time.Sleep(probeDelay)
		}
		return false
	})
	c := newClient(t, url, modes[2], nil)
	c.connect()
	n, stopAt := 0, most
	for ; n < stopAt; n++ {
		select {
		case err := <-c.upgrades:
			if err != nil {
				t.Fatalf("upgrade: %v", err)
			}
			stopAt = min(n+after, most)
		default:
		}
		c.send(fmt.Sprintf(`2%d["echo",%d]`, n, n))
		if n%5 == 4 {
			time.Sleep(time.Millisecond)
		}
	}
	if stopAt == most {
		t.Fatalf("no upgrade after %d messages", most)
	}
	on := map[string]int{}
	for i := range n {
		m := c.expect(fmt.Sprintf(`3%d[%d]`, i, i))
		on[m.transport]++
	}
	t.Logf("%d acks: %v", n, on)
	if on[engineio.TransportPolling] == 0 || on[engineio.TransportWebSocket] < after {
		t.Fatalf("acks by transport: %v", on)
	}
	pings, pongs := c.rawStats(n)
	if pings != 0 {
		t.Fatalf("client sent %d pings", pings)
	}
	t.Logf("%d pongs", pongs)
}

// TestFallBackToPolling puts a proxy that blocks WebSockets in front of the
// server: a session listing websocket then polling ends up on polling, and
// does not probe the WebSocket again.
func TestFallBackToPolling(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	url, refused := noWebSocketProxy(t, srv.URL())
	m := mode{"fallback", []string{engineio.TransportWebSocket, engineio.TransportPolling}, engineio.TransportPolling}
	c := newClient(t, url, m, nil)
	c.connect()
	echoText(c, 1, "through polling")
	echoBinary(c, 2, []byte("bin"))
	if got := c.s.Transport(); got != engineio.TransportPolling {
		t.Fatalf("Transport() = %q", got)
	}
	select {
	case err := <-c.upgrades:
		t.Fatalf("a fallen-back session probed the WebSocket: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if refused.Load() != 1 {
		t.Fatalf("%d WebSocket attempts", refused.Load())
	}
}

// TestWebSocketOnlyDoesNotFallBack: without polling in the list, a blocked
// WebSocket is a handshake error.
func TestWebSocketOnlyDoesNotFallBack(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	url, _ := noWebSocketProxy(t, srv.URL())
	_, err := engineio.Dial(context.Background(), url, nil)
	var he *engineio.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != http.StatusBadRequest || he.Code != engineio.CodeBadRequest || he.Message != "Bad request" {
		t.Fatalf("got %v", err)
	}
}

// TestFailedProbeStaysOnPolling: when the upgrade probe cannot connect the
// session reports it and keeps working on polling.
func TestFailedProbeStaysOnPolling(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{PingInterval: fastPingInterval, PingTimeout: fastPingTimeout})
	url, refused := noWebSocketProxy(t, srv.URL())
	c := newClient(t, url, modes[2], nil)
	c.connect()
	err := c.waitUpgrade()
	var he *engineio.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != http.StatusBadRequest {
		t.Fatalf("upgrade outcome %v", err)
	}
	time.Sleep(3 * fastPingInterval)
	echoText(c, 1, "still polling")
	if got := c.s.Transport(); got != engineio.TransportPolling || refused.Load() != 1 {
		t.Fatalf("Transport() = %q after %d refusals", got, refused.Load())
	}
}

// TestServerRestartEndsSession: the server forgets every session when it
// restarts; the session must end (the caller reconnects) and leak nothing.
func TestServerRestartEndsSession(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			srv := nodeserver.Start(t, nodeserver.Options{})
			c := newClient(t, srv.URL(), m, nil)
			c.connect()
			if m.name == "upgrade" {
				if err := c.waitUpgrade(); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(parkDelay) // let the session settle: a GET waits at the server
			srv.Restart(t)
			select {
			case <-c.s.Done():
			case <-time.After(testTimeout):
				t.Fatal("session outlived the server")
			}
			err := c.s.Err()
			if !errors.Is(err, engineio.ErrSessionUnknown) && !errors.Is(err, engineio.ErrTransportClosed) {
				t.Fatalf("Err = %v", err)
			}
			t.Logf("ended with %v", err)
		})
	}
}

// parkDelay is ample time for a session with nothing to do to be parked
// in a GET (or a WebSocket read).
const parkDelay = 200 * time.Millisecond

// TestSessionUnknownAfterRestart holds the session's next GET in a proxy
// while the server restarts, so that it reaches the new server, which
// answers 400 "Session ID unknown".
func TestSessionUnknownAfterRestart(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	var hold atomic.Bool
	held, release := make(chan struct{}, 1), make(chan struct{})
	url := newReverseProxy(t, srv.URL(), func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet && r.URL.Query().Has("sid") && hold.Load() {
			held <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		return false
	})
	c := newClient(t, url, modes[1], nil)
	c.connect()
	time.Sleep(parkDelay)
	hold.Store(true)
	echoText(c, 1, "releases the parked GET") // the ack ends it; the next one is held
	select {
	case <-held:
	case <-time.After(testTimeout):
		t.Fatal("no GET after the ack")
	}
	srv.Restart(t)
	close(release)
	select {
	case <-c.s.Done():
	case <-time.After(testTimeout):
		t.Fatal("session outlived the server")
	}
	if err := c.s.Err(); !errors.Is(err, engineio.ErrSessionUnknown) {
		t.Fatalf("Err = %v, want ErrSessionUnknown", err)
	}
}

// TestProxyForBothTransports sends every request through an HTTP proxy
// given by Options.Proxy (what http.ProxyFromEnvironment returns for
// HTTP_PROXY): polling as proxied requests, WebSocket tunnelled with
// CONNECT.
func TestProxyForBothTransports(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			proxy := newForwardProxy(t)
			c := newClient(t, srv.URL(), m, &engineio.Options{Proxy: proxy.proxyFunc()})
			c.connect()
			if m.name == "upgrade" {
				if err := c.waitUpgrade(); err != nil {
					t.Fatal(err)
				}
			}
			echoText(c, 1, "proxied")
			gets, posts, connects := proxy.count(http.MethodGet), proxy.count(http.MethodPost), proxy.count(http.MethodConnect)
			t.Logf("GET %d, POST %d, CONNECT %d", gets, posts, connects)
			wantConnects := 1
			if m.final == engineio.TransportPolling {
				wantConnects = 0
			}
			polled := m.transports != nil && gets > 0 && posts > 0
			if connects != wantConnects || polled != (m.transports != nil) {
				t.Fatalf("GET %d, POST %d, CONNECT %d through the proxy", gets, posts, connects)
			}
		})
	}
}

func TestUnknownTransport(t *testing.T) {
	for _, ts := range [][]string{{"carrier-pigeon"}, {"polling", "polling"}, {"websocket", ""}} {
		_, err := engineio.Dial(context.Background(), "http://127.0.0.1:1", &engineio.Options{Transports: ts})
		if err == nil || !strings.Contains(err.Error(), "transport") {
			t.Errorf("%q: %v", ts, err)
		}
	}
}

// TestCloseDuringUpgrade closes upgrading sessions at different moments
// (probe dial, probe, pause, after): Close must return promptly with
// ErrClosed and leave no goroutine behind (checked by TestMain).
func TestCloseDuringUpgrade(t *testing.T) {
	const probeDelay = 50 * time.Millisecond
	srv := nodeserver.Start(t, nodeserver.Options{})
	url := newReverseProxy(t, srv.URL(), func(w http.ResponseWriter, r *http.Request) bool {
		if isWebSocket(r) {
			time.Sleep(probeDelay)
		}
		return false
	})
	for _, after := range []time.Duration{0, 10 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond, 80 * time.Millisecond, 150 * time.Millisecond, 300 * time.Millisecond} {
		c := newClient(t, url, modes[2], nil)
		c.send("0")
		time.Sleep(after)
		start := time.Now()
		c.s.Close()
		if took := time.Since(start); took > 3*time.Second || !errors.Is(c.s.Err(), engineio.ErrClosed) {
			t.Fatalf("close after %v: took %v, Err %v", after, took, c.s.Err())
		}
		t.Logf("closed after %v on %s", after, c.s.Transport())
	}
}
