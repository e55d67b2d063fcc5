package engineio_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/protocol/engineio"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const testTimeout = 20 * time.Second

func dial(t *testing.T, rawURL string, opts *engineio.Options) *engineio.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s, err := engineio.Dial(ctx, rawURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestEndpointURL(t *testing.T) {
	cases := []struct {
		in, path, transport, sid string
		query                    url.Values
		want                     string
	}{
		{"http://h:3000", "", "websocket", "", nil, "ws://h:3000/socket.io/?EIO=4&transport=websocket"},
		{"https://h/admin", "", "websocket", "", nil, "wss://h/socket.io/?EIO=4&transport=websocket"},
		{"ws://h", "/custom", "polling", "abc", url.Values{"a": {"1"}}, "http://h/custom/?EIO=4&a=1&sid=abc&transport=polling"},
		{"wss://h?x=y", "/p/", "polling", "", nil, "https://h/p/?EIO=4&transport=polling&x=y"},
	}
	for _, c := range cases {
		u, err := engineio.EndpointURL(c.in, c.path, c.transport, c.sid, c.query)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if u.String() != c.want {
			t.Errorf("%s: got %s, want %s", c.in, u, c.want)
		}
	}
	for _, bad := range []string{"ftp://h", "http://", "::", "127.0.0.1:3000"} {
		if _, err := engineio.EndpointURL(bad, "", "websocket", "", nil); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestDialReadsHandshake(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{PingInterval: 700 * time.Millisecond, PingTimeout: 300 * time.Millisecond, MaxPayload: 5000})
	s := dial(t, srv.URL(), nil)
	hs := s.Handshake()
	if hs.SID == "" || hs.PingInterval != 700 || hs.PingTimeout != 300 || hs.MaxPayload != 5000 {
		t.Fatalf("handshake %+v", hs)
	}
	if len(hs.Upgrades) != 0 {
		t.Fatalf("a WebSocket session was offered upgrades %v", hs.Upgrades)
	}
	big := make([]byte, 6000)
	err := s.Send(context.Background(), engineio.Packet{Type: engineio.Message, Data: big})
	if !errors.Is(err, engineio.ErrPayloadTooLarge) {
		t.Fatalf("oversized send: %v", err)
	}
	if s.Err() != nil {
		t.Fatalf("session ended: %v", s.Err())
	}
}

func TestSessionAnswersPingsAndClosesCleanly(t *testing.T) {
	const interval, timeout = 200 * time.Millisecond, time.Second
	srv := nodeserver.Start(t, nodeserver.Options{PingInterval: interval, PingTimeout: timeout})
	s := dial(t, srv.URL(), nil)
	select {
	case <-s.Done():
		t.Fatalf("session ended while pings were answered: %v", s.Err())
	case <-time.After(8 * interval):
	}
	s.Close()
	s.Close()
	if !errors.Is(s.Err(), engineio.ErrClosed) {
		t.Fatalf("Err after Close = %v", s.Err())
	}
	if err := s.Send(context.Background(), engineio.Packet{Type: engineio.Message, Data: []byte("x")}); !errors.Is(err, engineio.ErrClosed) {
		t.Fatalf("Send after Close = %v", err)
	}
}

func TestMessagesReachOnMessage(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	got := make(chan string, 4)
	s := dial(t, srv.URL(), &engineio.Options{OnMessage: func(data []byte, binary bool) error {
		got <- string(data)
		return nil
	}})
	// A Socket.IO CONNECT for the main namespace, sent as a raw message.
	if err := s.Send(context.Background(), engineio.Packet{Type: engineio.Message, Data: []byte("0")}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if len(m) < 2 || m[:2] != `0{` {
			t.Fatalf("first message %q, want a CONNECT reply", m)
		}
	case <-time.After(testTimeout):
		t.Fatal("no CONNECT reply")
	}
}

func TestOnMessageErrorEndsSession(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	bad := errors.New("parse error")
	s := dial(t, srv.URL(), &engineio.Options{OnMessage: func([]byte, bool) error { return bad }})
	s.Send(context.Background(), engineio.Packet{Type: engineio.Message, Data: []byte("0")})
	select {
	case <-s.Done():
	case <-time.After(testTimeout):
		t.Fatal("session did not end")
	}
	if !errors.Is(s.Err(), bad) {
		t.Fatalf("Err = %v", s.Err())
	}
}

func TestHandshakeRefusedIsTyped(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("EIO") != "4" || r.URL.Path != "/socket.io/" {
			t.Errorf("request %s", r.URL)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"code":5,"message":"Unsupported protocol version"}`))
	}))
	defer hs.Close()
	_, err := engineio.Dial(context.Background(), hs.URL, nil)
	var he *engineio.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != http.StatusBadRequest || he.Body != `{"code":5,"message":"Unsupported protocol version"}` {
		t.Fatalf("got %v", err)
	}
}

func TestDialHonoursContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // accept and say nothing: a server that hangs
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = engineio.Dial(ctx, "http://"+l.Addr().String(), nil)
	var te *engineio.TransportError
	if !errors.As(err, &te) {
		t.Fatalf("got %v, want a TransportError", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Dial took %v despite a 300ms context", took)
	}
}
