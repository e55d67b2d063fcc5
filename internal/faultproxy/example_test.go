package faultproxy_test

import (
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
