package engineio_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioagent/sioagent/protocol/engineio"
)

// mode is one way of running a session: the three the tests cover.
type mode struct {
	name       string
	transports []string
	// final is the transport the session ends up on.
	final string
}

var modes = []mode{
	{"websocket", nil, engineio.TransportWebSocket},
	{"polling", []string{engineio.TransportPolling}, engineio.TransportPolling},
	{"upgrade", []string{engineio.TransportPolling, engineio.TransportWebSocket}, engineio.TransportWebSocket},
}

// received is one message the client got.
type received struct {
	data      string
	binary    bool
	transport string // the session's transport when it arrived
}

// client is a session whose messages and upgrade results land in channels.
type client struct {
	t        *testing.T
	s        *engineio.Session
	msgs     chan received
	upgrades chan error
}

// clientBuffer is large enough that OnMessage never blocks in these tests.
const clientBuffer = 20000

// newClient dials url in mode m; opts may set anything but Transports,
// OnMessage and OnUpgrade.
func newClient(t *testing.T, url string, m mode, opts *engineio.Options) *client {
	t.Helper()
	c := &client{t: t, msgs: make(chan received, clientBuffer), upgrades: make(chan error, 1)}
	var o engineio.Options
	if opts != nil {
		o = *opts
	}
	o.Transports = m.transports
	var sess atomic.Pointer[engineio.Session]
	o.OnMessage = func(data []byte, binary bool) error {
		r := received{data: string(data), binary: binary}
		if s := sess.Load(); s != nil {
			r.transport = s.Transport()
		}
		c.msgs <- r
		return nil
	}
	o.OnUpgrade = func(transport string, err error) {
		if transport != engineio.TransportWebSocket {
			t.Errorf("OnUpgrade(%q)", transport)
		}
		c.upgrades <- err
	}
	c.s = dial(t, url, &o)
	sess.Store(c.s)
	return c
}

// send sends one text message.
func (c *client) send(data string) {
	c.t.Helper()
	if err := c.s.Send(context.Background(), text(data)); err != nil {
		c.t.Fatalf("send %q: %v", data, err)
	}
}

func text(data string) engineio.Packet {
	return engineio.Packet{Type: engineio.Message, Data: []byte(data)}
}

func binary(data []byte) engineio.Packet {
	return engineio.Packet{Type: engineio.Message, Data: data, Binary: true}
}

// next returns the next message that is not a server event the test did not
// ask for ("welcome").
func (c *client) next() received {
	c.t.Helper()
	timer := time.NewTimer(testTimeout)
	defer timer.Stop()
	for {
		select {
		case m := <-c.msgs:
			if strings.HasPrefix(m.data, `2["welcome"`) {
				continue
			}
			return m
		case <-c.s.Done():
			c.t.Fatalf("session ended waiting for a message: %v", c.s.Err())
		case <-timer.C:
			c.t.Fatal("no message")
		}
	}
}

// expect fails unless the next message is want.
func (c *client) expect(want string) received {
	c.t.Helper()
	m := c.next()
	if m.binary || m.data != want {
		c.t.Fatalf("got %q (binary %v), want %q", m.data, m.binary, want)
	}
	return m
}

// connect joins the main Socket.IO namespace and waits for the reply.
func (c *client) connect() {
	c.t.Helper()
	c.send("0")
	if m := c.next(); !strings.HasPrefix(m.data, `0{"sid":`) {
		c.t.Fatalf("CONNECT reply %q", m.data)
	}
}

// waitUpgrade waits for the outcome of the upgrade probe.
func (c *client) waitUpgrade() error {
	c.t.Helper()
	select {
	case err := <-c.upgrades:
		return err
	case <-time.After(testTimeout):
		c.t.Fatal("no upgrade outcome")
		return nil
	}
}

// rawStats asks the server what the client sent at the Engine.IO level.
func (c *client) rawStats(ackID int) (pings, pongs int) {
	c.t.Helper()
	c.send(fmt.Sprintf(`2%d["raw-stats"]`, ackID))
	m := c.next()
	if _, err := fmt.Sscanf(m.data, fmt.Sprintf(`3%d[{"pings":%%d,"pongs":%%d,`, ackID), &pings, &pongs); err != nil {
		c.t.Fatalf("raw-stats reply %q: %v", m.data, err)
	}
	return pings, pongs
}

// forwardProxy is an HTTP forward proxy: absolute-URI requests are
// forwarded, CONNECT is tunnelled. It counts requests by method.
type forwardProxy struct {
	srv     *httptest.Server
	tr      *http.Transport
	tunnels sync.WaitGroup

	mu      sync.Mutex
	methods map[string]int
	maxPost int64 // largest POST body seen
}

func newForwardProxy(t *testing.T) *forwardProxy {
	p := &forwardProxy{tr: &http.Transport{}, methods: map[string]int{}}
	p.srv = httptest.NewServer(p)
	t.Cleanup(func() {
		p.srv.Close()
		p.tr.CloseIdleConnections()
		p.tunnels.Wait()
	})
	return p
}

// proxyFunc is an Options.Proxy that sends every request through p.
func (p *forwardProxy) proxyFunc() func(*http.Request) (*url.URL, error) {
	u, _ := url.Parse(p.srv.URL)
	return http.ProxyURL(u)
}

func (p *forwardProxy) count(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.methods[method]
}

func (p *forwardProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.methods[r.Method]++
	if r.Method == http.MethodPost {
		p.maxPost = max(p.maxPost, r.ContentLength)
	}
	p.mu.Unlock()
	if r.Method == http.MethodConnect {
		p.tunnel(w, r)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.Header.Del("Proxy-Connection")
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func (p *forwardProxy) tunnel(w http.ResponseWriter, r *http.Request) {
	dst, err := net.Dial("tcp", r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	src, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		dst.Close()
		return
	}
	io.WriteString(src, "HTTP/1.1 200 Connection established\r\n\r\n")
	p.tunnels.Add(2)
	closeBoth := sync.OnceFunc(func() { src.Close(); dst.Close() })
	go func() {
		defer p.tunnels.Done()
		io.Copy(dst, rw.Reader)
		closeBoth()
	}()
	go func() {
		defer p.tunnels.Done()
		io.Copy(src, dst)
		closeBoth()
	}()
}

// newReverseProxy starts a reverse proxy to target (WebSockets included)
// and returns its URL. intercept, when not nil, sees every request first;
// it may answer it itself and return true, or delay it and return false to
// let it through.
func newReverseProxy(t *testing.T, target string, intercept func(w http.ResponseWriter, r *http.Request) bool) string {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = tr
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		w.WriteHeader(http.StatusBadGateway) // the client went away or the server is down
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if intercept != nil && intercept(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	return srv.URL
}

func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// noWebSocketProxy is a reverse proxy to target that refuses every
// WebSocket upgrade with HTTP 400, like a proxy that blocks WebSockets. It
// returns its URL and the number of refusals.
func noWebSocketProxy(t *testing.T, target string) (string, *atomic.Int64) {
	var refused atomic.Int64
	url := newReverseProxy(t, target, func(w http.ResponseWriter, r *http.Request) bool {
		if !isWebSocket(r) {
			return false
		}
		refused.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"code":3,"message":"Bad request"}`)
		return true
	})
	return url, &refused
}
