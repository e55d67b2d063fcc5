package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/sioagent/sioagent/metrics"
)

// WriteMetrics writes the agent's metrics in the Prometheus text format,
// as the [metrics] endpoint and textfile do (every family is described in
// docs/METRICS.md). It is safe to call at any time after New.
func (a *Agent) WriteMetrics(w io.Writer) error { return a.metrics.reg.Write(w) }

// MetricsAddr is the address the metrics endpoint listens on (with the
// port the system chose for ":0"), nil when [metrics] listen is not set.
func (a *Agent) MetricsAddr() net.Addr {
	if a.metricsLn == nil {
		return nil
	}
	return a.metricsLn.Addr()
}

// listenMetrics opens the [metrics] listen address, so that a port in use
// fails New, naming the key, rather than the scrape. It is not a
// ConfigError: a port taken for a moment (another program, a restart
// racing the old process) may be free at the next start, so systemd
// restarts the agent rather than giving up as on a bad setting.
func (a *Agent) listenMetrics() error {
	addr := a.cfg.Metrics.Listen
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("agent: metrics.listen %q: %w", addr, err)
	}
	a.metricsLn = ln
	return nil
}

// serveMetrics runs the metrics outputs that are configured until ctx
// ends; the returned function waits for them to stop. The endpoint stops
// serving, and the textfile is removed, so that a stopped agent leaves no
// stale numbers behind: node_exporter then has no sioagent series, which
// alerts see with absent().
func (a *Agent) serveMetrics(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	if ln := a.metricsLn; ln != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := metrics.Serve(ctx, ln, a.metrics.reg); err != nil {
				a.log.Error("metrics endpoint stopped", "listen", a.cfg.Metrics.Listen, "err", err)
			}
		}()
		a.log.Info("serving metrics", "listen", ln.Addr().String(), "path", metrics.Path)
	}
	if path := a.cfg.Metrics.Textfile; path != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.writeTextfile(ctx, path, a.cfg.Metrics.Interval)
		}()
	}
	return wg.Wait
}

// writeTextfile rewrites path every interval until ctx ends, then removes
// it. A failure is logged when it first happens and when it clears, not
// at every interval.
func (a *Agent) writeTextfile(ctx context.Context, path string, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last string
	for {
		err := metrics.WriteFile(path, a.metrics.reg)
		switch {
		case err != nil && err.Error() != last:
			a.log.Warn("cannot write the metrics textfile", "path", path, "err", err)
			last = err.Error()
		case err == nil && last != "":
			a.log.Info("metrics textfile written again", "path", path)
			last = ""
		}
		select {
		case <-ctx.Done():
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				a.log.Warn("cannot remove the metrics textfile", "path", path, "err", err)
			}
			return
		case <-t.C:
		}
	}
}
