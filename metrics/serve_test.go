package metrics_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/metrics"
)

// raw sends req on a fresh connection to a serveConn and returns the whole
// response.
func raw(t *testing.T, req string, timeout time.Duration) string {
	t.Helper()
	r := metrics.NewRegistry()
	r.GaugeFunc("x_up", "Up.", nil, func(emit metrics.Emit) { emit(1) })
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() { defer close(done); metrics.ServeConn(server, r, timeout) }()
	go func() { _, _ = io.WriteString(client, req) }()
	b, _ := io.ReadAll(client)
	client.Close()
	<-done
	return string(b)
}

func TestServeConnAnswers(t *testing.T) {
	for _, tt := range []struct {
		name, req, status string
		body              bool
	}{
		{"get", "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "200 OK", true},
		{"query and LF only", "GET /metrics?x=1 HTTP/1.0\nHost: x\n\n", "200 OK", true},
		{"absolute target", "GET http://pi:9464/metrics HTTP/1.1\r\n\r\n", "200 OK", true},
		{"head", "HEAD /metrics HTTP/1.1\r\n\r\n", "200 OK", false},
		{"other path", "GET / HTTP/1.1\r\n\r\n", "404 Not Found", true},
		{"post", "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "405 Method Not Allowed", true},
		{"garbage", "\x16\x03\x01\x02\x00\x01\x00\r\n\r\n", "400 Bad Request", true},
		{"http/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "400 Bad Request", true},
		{"bad header", "GET /metrics HTTP/1.1\r\nnocolon\r\n\r\n", "400 Bad Request", true},
		{"head too long", "GET /metrics HTTP/1.1\r\nX: " + strings.Repeat("a", metrics.MaxRequestBytes) + "\r\n\r\n", "400 Bad Request", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := raw(t, tt.req, time.Second)
			if !strings.HasPrefix(resp, "HTTP/1.1 "+tt.status+"\r\n") || !strings.Contains(resp, "\r\nConnection: close\r\n") {
				t.Fatalf("response %q, want %s", resp, tt.status)
			}
			_, body, _ := strings.Cut(resp, "\r\n\r\n")
			if (body != "") != tt.body {
				t.Fatalf("body %q", body)
			}
			if tt.status == "200 OK" && tt.body && !strings.Contains(body, "x_up 1\n") {
				t.Fatalf("body %q", body)
			}
		})
	}
}

// A client that never finishes its request is answered 400 and cut off
// at the timeout, not held for ever.
func TestServeConnSlowClient(t *testing.T) {
	r := metrics.NewRegistry()
	client, server := net.Pipe()
	defer client.Close()
	done := make(chan struct{})
	go func() { defer close(done); metrics.ServeConn(server, r, 50*time.Millisecond) }()
	if _, err := io.WriteString(client, "GET /metrics HTTP/1.1\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, _ := bufio.NewReader(client).ReadString('\n')
	if !strings.HasPrefix(resp, "HTTP/1.1 400") {
		t.Fatalf("response %q", resp)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("serveConn still holds a client that stopped sending")
	}
}

func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD /metrics?a HTTP/1.0\n\n", "GET http://h/metrics HTTP/1.1\r\n\r\n", "GET  HTTP/1.1\r\n\r\n", "\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		method, path, err := metrics.ReadRequest(bufio.NewReader(io.LimitReader(strings.NewReader(string(b)), metrics.MaxRequestBytes)))
		if err != nil {
			if !strings.Contains(err.Error(), "bad request") {
				t.Fatalf("error %v does not say bad request", err)
			}
			return
		}
		if method == "" || !strings.HasPrefix(path, "/") || strings.Contains(path, "?") {
			t.Fatalf("accepted %q: method %q path %q", b, method, path)
		}
		if errors.Is(err, io.EOF) {
			t.Fatal("EOF")
		}
	})
}

// A scraper that connects and sends nothing does not hold Serve's stop:
// the connection is cut when the context ends, not at the request
// timeout.
func TestServeStopCutsIdleConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- metrics.Serve(ctx, ln, metrics.NewRegistry()) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /metrics HTTP/1.1\r\n"); err != nil { // and no more
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // accepted and reading
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(metrics.RequestTimeout - time.Second):
		t.Fatal("Serve waited for the idle connection's request timeout")
	}
}
