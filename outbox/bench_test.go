package outbox_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/faultproxy"
	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/outbox"
)

// BenchmarkDrain50msRTT drains a backlog over a proxy that adds 25 ms each
// way (a 50 ms round trip), with the default window of 32 and with
// stop-and-wait (a window of 1, on a smaller backlog: it needs a round trip
// per record), and reports both rates and their ratio.
func BenchmarkDrain50msRTT(b *testing.B) {
	srv := nodeserver.Start(b, nodeserver.Options{})
	p := faultproxy.Start(b, strings.TrimPrefix(srv.URL(), "http://"))
	p.SetLatency(25 * time.Millisecond)
	rate := func(window, n int) float64 {
		var total time.Duration
		for i := range b.N {
			st, _ := openStore(b)
			produce(b, st, n, 8)
			dev := newDevice(b, p.URL(), st, outbox.Options{DeviceID: fmt.Sprintf("bench-w%d-%d", window, i), Window: window})
			dev.waitConnected(b)
			start := time.Now()
			dev.run(b)
			waitFor(b, "the drain", func() bool { return dev.d.Stats().Acked >= uint64(n) })
			total += time.Since(start)
		}
		return float64(n*b.N) / total.Seconds()
	}
	b.ResetTimer()
	w32 := rate(32, 500)
	w1 := rate(1, 100)
	b.ReportMetric(w32, "rec/s-W32")
	b.ReportMetric(w1, "rec/s-W1")
	b.ReportMetric(w32/w1, "speedup")
}
