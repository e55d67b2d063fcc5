package engineio_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sioagent/sioagent/protocol/engineio"
)

// fakeOpen is the open packet of the fake server's sessions.
const fakeOpen = `0{"sid":"fake-sid","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`

// fakeServer is a scripted long-polling Engine.IO server: it answers the
// handshake with open, records every request, collects POST bodies and
// lets the test answer GETs. It never answers a WebSocket upgrade.
type fakeServer struct {
	*httptest.Server
	posts chan string

	mu   sync.Mutex
	reqs []*http.Request
}

func newFakeServer(t *testing.T, open string, onGet func(w http.ResponseWriter, r *http.Request)) *fakeServer {
	f := &fakeServer{posts: make(chan string, 100)}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reqs = append(f.reqs, r.Clone(context.Background()))
		f.mu.Unlock()
		switch {
		case isWebSocket(r):
			holdGET(w, r)
		case !r.URL.Query().Has("sid"):
			io.WriteString(w, open)
		case r.Method == http.MethodPost:
			body, _ := io.ReadAll(r.Body)
			f.posts <- string(body)
			io.WriteString(w, "ok")
		default:
			onGet(w, r)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.reqs...)
}

// holdGET answers a GET only when the client gives up on it.
func holdGET(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func pollingOnly() *engineio.Options {
	return &engineio.Options{Transports: []string{engineio.TransportPolling}}
}

func waitDone(t *testing.T, s *engineio.Session) error {
	t.Helper()
	select {
	case <-s.Done():
		return s.Err()
	case <-time.After(testTimeout):
		t.Fatal("session did not end")
		return nil
	}
}

// TestPollingRequests checks what goes over the wire: the query of every
// request, headers, POST bodies, the close packet, and packets that come
// with the open packet.
func TestPollingRequests(t *testing.T) {
	f := newFakeServer(t, fakeOpen+"\x1e4hello", holdGET)
	got := make(chan string, 4)
	opts := pollingOnly()
	opts.Header = http.Header{"X-Device": {"pi-7"}}
	opts.Query = url.Values{"token": {"abc"}}
	opts.OnMessage = func(data []byte, binary bool) error {
		got <- string(data)
		return nil
	}
	s, err := engineio.Dial(context.Background(), f.URL+"/ignored", opts)
	if err != nil {
		t.Fatal(err)
	}
	if m := <-got; m != "hello" {
		t.Fatalf("message that came with open: %q", m)
	}
	err = s.Send(context.Background(), text(`51-["x",{"_placeholder":true,"num":0}]`), binary([]byte{1, 2, 3, 4}))
	if err != nil {
		t.Fatal(err)
	}
	if body := <-f.posts; body != "451-[\"x\",{\"_placeholder\":true,\"num\":0}]\x1ebAQIDBA==" {
		t.Fatalf("POST body %q", body)
	}
	s.Close()
	if body := <-f.posts; body != "1" {
		t.Fatalf("goodbye %q, want a close packet", body)
	}
	stamps := map[string]bool{}
	for i, r := range f.requests() {
		q := r.URL.Query()
		if r.URL.Path != "/socket.io/" || q.Get("EIO") != "4" || q.Get("transport") != "polling" || q.Get("token") != "abc" {
			t.Errorf("request %d: %s", i, r.URL)
		}
		if (i > 0) != (q.Get("sid") == "fake-sid") {
			t.Errorf("request %d: sid %q", i, q.Get("sid"))
		}
		if stamps[q.Get("t")] || q.Get("t") == "" {
			t.Errorf("request %d: cache buster %q repeated or missing", i, q.Get("t"))
		}
		stamps[q.Get("t")] = true
		if r.Header.Get("X-Device") != "pi-7" {
			t.Errorf("request %d: no custom header", i)
		}
		if r.Method == http.MethodPost && r.Header.Get("Content-Type") != "text/plain;charset=UTF-8" {
			t.Errorf("POST content type %q", r.Header.Get("Content-Type"))
		}
	}
}

func TestPollingSessionIDUnknown(t *testing.T) {
	f := newFakeServer(t, fakeOpen, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"code":1,"message":"Session ID unknown"}`)
	})
	s := dial(t, f.URL, pollingOnly())
	if err := waitDone(t, s); !errors.Is(err, engineio.ErrSessionUnknown) {
		t.Fatalf("Err = %v", err)
	}
}

func TestPollingHTTPErrorIsTyped(t *testing.T) {
	f := newFakeServer(t, fakeOpen, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"code":4,"message":"Forbidden"}`)
	})
	s := dial(t, f.URL, pollingOnly())
	err := waitDone(t, s)
	var te *engineio.TransportError
	var he *engineio.HTTPError
	if !errors.As(err, &te) || te.Op != "read" || !errors.As(err, &he) ||
		*he != (engineio.HTTPError{StatusCode: http.StatusForbidden, Code: engineio.CodeForbidden, Message: "Forbidden"}) {
		t.Fatalf("Err = %v", err)
	}
}

func TestPollingHandshakeRefusedIsTyped(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"code":5,"message":"Unsupported protocol version"}`)
	}))
	defer hs.Close()
	_, err := engineio.Dial(context.Background(), hs.URL, pollingOnly())
	var he *engineio.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != http.StatusBadRequest ||
		he.Code != engineio.CodeUnsupportedProtocolVersion || he.Message != "Unsupported protocol version" {
		t.Fatalf("got %v", err)
	}
}

// TestPollingPingTimeout: a server that stops answering GETs (a half-open
// link) is detected at the ping deadline.
func TestPollingPingTimeout(t *testing.T) {
	const window = 300 * time.Millisecond
	open := `0{"sid":"s","upgrades":[],"pingInterval":200,"pingTimeout":100,"maxPayload":1000}`
	f := newFakeServer(t, open, holdGET)
	start := time.Now()
	s := dial(t, f.URL, pollingOnly())
	err := waitDone(t, s)
	if took := time.Since(start); !errors.Is(err, engineio.ErrPingTimeout) || took < window || took > window+2*time.Second {
		t.Fatalf("Err = %v after %v", err, took)
	}
}

// TestPollingNoopAndClose: noop packets are ignored, a close packet ends the
// session as a transport close.
func TestPollingNoopAndClose(t *testing.T) {
	var mu sync.Mutex
	answers := []string{"6", "4a\x1e6\x1e4b", "1"}
	f := newFakeServer(t, fakeOpen, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if len(answers) == 0 {
			holdGET(w, r)
			return
		}
		io.WriteString(w, answers[0])
		answers = answers[1:]
	})
	got := make(chan string, 4)
	opts := pollingOnly()
	opts.OnMessage = func(data []byte, binary bool) error {
		got <- string(data)
		return nil
	}
	s := dial(t, f.URL, opts)
	if err := waitDone(t, s); !errors.Is(err, engineio.ErrTransportClosed) {
		t.Fatalf("Err = %v", err)
	}
	if a, b := <-got, <-got; a != "a" || b != "b" {
		t.Fatalf("messages %q %q", a, b)
	}
}

// TestPollingPongs: a ping in a GET is answered by a pong POST and moves the
// ping deadline.
func TestPollingPongs(t *testing.T) {
	open := `0{"sid":"s","upgrades":[],"pingInterval":300,"pingTimeout":300,"maxPayload":1000}`
	var mu sync.Mutex
	pings := 0
	f := newFakeServer(t, open, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n := pings
		pings++
		mu.Unlock()
		if n >= 3 {
			holdGET(w, r)
			return
		}
		time.Sleep(200 * time.Millisecond)
		io.WriteString(w, "2")
	})
	s := dial(t, f.URL, pollingOnly())
	for range 3 {
		select {
		case body := <-f.posts:
			if body != "3" {
				t.Fatalf("POST %q, want a pong", body)
			}
		case <-s.Done():
			t.Fatalf("session ended: %v", s.Err())
		}
	}
	if err := waitDone(t, s); !errors.Is(err, engineio.ErrPingTimeout) {
		t.Fatalf("Err = %v", err)
	}
}

// TestDialAllTransportsFail: when every transport fails, Dial reports each.
func TestDialAllTransportsFail(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there any more
	opts := &engineio.Options{Transports: []string{engineio.TransportWebSocket, engineio.TransportPolling}}
	_, err = engineio.Dial(context.Background(), "http://"+addr, opts)
	var te *engineio.TransportError
	if !errors.As(err, &te) || te.Op != "dial" || !strings.Contains(err.Error(), "websocket: ") || !strings.Contains(err.Error(), "polling: ") {
		t.Fatalf("got %v", err)
	}
}

// TestPollingMessagesOwnTheirData: OnMessage owns its slice; appending to
// it must not overwrite the next message of the same GET.
func TestPollingMessagesOwnTheirData(t *testing.T) {
	answered := false
	var mu sync.Mutex
	f := newFakeServer(t, fakeOpen, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		first := !answered
		answered = true
		mu.Unlock()
		if !first {
			holdGET(w, r)
			return
		}
		io.WriteString(w, "4aaa\x1e4bbb")
	})
	got := make(chan string, 2)
	opts := pollingOnly()
	opts.OnMessage = func(data []byte, binary bool) error {
		got <- string(data)
		_ = append(data, "XXXXXXXX"...)
		return nil
	}
	dial(t, f.URL, opts)
	if a, b := <-got, <-got; a != "aaa" || b != "bbb" {
		t.Fatalf("messages %q %q", a, b)
	}
}

// TestPollingCloseFlushes: Close writes what was queued, then the close
// packet.
func TestPollingCloseFlushes(t *testing.T) {
	const n = 50
	f := newFakeServer(t, fakeOpen, holdGET)
	s, err := engineio.Dial(context.Background(), f.URL, pollingOnly())
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := s.Send(context.Background(), text(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	var got []string
	for body := range strings.SplitSeq(strings.Join(drain(f.posts), "\x1e"), "\x1e") {
		got = append(got, body)
	}
	if len(got) != n+1 || got[n] != "1" {
		t.Fatalf("posted %q", got)
	}
	for i := range n {
		if got[i] != "4"+strconv.Itoa(i) {
			t.Fatalf("packet %d: %q", i, got[i])
		}
	}
}

// drain returns what is in c now.
func drain(c chan string) []string {
	var out []string
	for {
		select {
		case s := <-c:
			out = append(out, s)
		default:
			return out
		}
	}
}

// TestFallBackAfterWebSocketTimeout: a WebSocket that never completes its
// handshake counts as a failure after HandshakeTimeout, and the session
// falls back to polling.
func TestFallBackAfterWebSocketTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	f := newFakeServer(t, fakeOpen, holdGET)
	opts := &engineio.Options{
		Transports:       []string{engineio.TransportWebSocket, engineio.TransportPolling},
		HandshakeTimeout: timeout,
	}
	start := time.Now()
	s := dial(t, f.URL, opts)
	if took := time.Since(start); s.Transport() != engineio.TransportPolling || took < timeout {
		t.Fatalf("on %s after %v", s.Transport(), took)
	}
}

// Regression (found by bench/soak): a poll whose connection is reset
// before its response arrives must end the session. net/http would send
// the GET again on a new connection, and the packets the server had put in
// the lost response would be skipped without a trace.
func TestPollingLostResponseEndsSession(t *testing.T) {
	var gets atomic.Int32
	f := newFakeServer(t, fakeOpen, func(w http.ResponseWriter, r *http.Request) {
		switch gets.Add(1) {
		case 1:
			io.WriteString(w, "6") // a noop: the connection goes back to the pool
		case 2:
			// The server "sends" a response that the link loses: reset the
			// reused connection before anything reaches the client.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		default:
			io.WriteString(w, "6")
		}
	})
	s := dial(t, f.URL, pollingOnly())
	err := waitDone(t, s)
	var te *engineio.TransportError
	if !errors.As(err, &te) {
		t.Fatalf("session ended with %v, want a transport error", err)
	}
	if n := gets.Load(); n != 2 {
		t.Fatalf("%d polls: the lost one was sent again", n)
	}
}

// failingConn fails its failAt-th write, like a kept-alive connection that
// was cut while idle between two polls.
type failingConn struct {
	net.Conn
	writes, failAt int
}

func (c *failingConn) Write(b []byte) (int, error) {
	c.writes++
	if c.writes == c.failAt {
		return 0, syscall.ECONNRESET
	}
	return c.Conn.Write(b)
}

// Regression (found by bench/soak after the fix above): a poll that failed
// ends the session, and the client tells the server so, on a new request;
// otherwise the server would keep the session until its heartbeat gives up,
// and a quick reconnection could not recover it.
func TestPollingFailedPollSaysGoodbye(t *testing.T) {
	var gets atomic.Int32
	f := newFakeServer(t, fakeOpen, func(w http.ResponseWriter, r *http.Request) {
		if gets.Add(1) == 1 {
			io.WriteString(w, "6") // answered at once: the connection goes idle
			return
		}
		holdGET(w, r)
	})
	var dials atomic.Int32
	opts := pollingOnly()
	opts.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if dials.Add(1) == 1 {
			// handshake, first poll, then the second poll finds it dead
			return &failingConn{Conn: c, failAt: 3}, nil
		}
		return c, nil
	}
	s := dial(t, f.URL, opts)
	var te *engineio.TransportError
	if err := waitDone(t, s); !errors.As(err, &te) {
		t.Fatalf("session ended with %v, want a transport error", err)
	}
	s.Close()
	select {
	case body := <-f.posts:
		if body != "1" {
			t.Fatalf("client posted %q, want the close packet", body)
		}
	case <-time.After(testTimeout):
		t.Fatal("the server was not told that the session is over")
	}
}
