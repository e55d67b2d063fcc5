package faultproxy_test

import (
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/faultproxy"
)

// ExampleStart shows a test that puts the proxy between a client and its
// server. Start needs the test's testing.TB, so the example is compiled
// but not run.
func ExampleStart() {
	_ = func(t *testing.T, serverAddr string) {
		p := faultproxy.Start(t, serverAddr) // stopped in t.Cleanup
		url := p.URL()                       // give this to the client
		_ = url

		p.SetLatency(300 * time.Millisecond) // slow link
		p.SetBandwidth(10_000)
		p.Cut()    // hard cut: both peers see ECONNRESET
		p.Freeze() // half-open: nothing moves, nothing closes
		p.Thaw()
		p.SetRefuse(true) // server down, host up
	}
}

// ExampleNew runs the proxy outside a test, in front of a small upstream
// that greets every connection: New returns errors instead of failing a
// test, and the caller closes the proxy.
func ExampleNew() {
	upstream, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer upstream.Close()
	go func() {
		for {
			conn, err := upstream.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(conn, "hello\n")
			_ = conn.Close()
		}
	}()

	p, err := faultproxy.New(upstream.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	conn, err := net.Dial("tcp", p.Addr())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	greeting, _ := io.ReadAll(conn)
	fmt.Printf("%s", greeting)
	// Output: hello
}
