package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/internal/faultproxy"
	"github.com/sioagent/sioagent/internal/metricstest"
	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/sensors/drivers"
)

// metricsWait bounds each wait for the metrics to show what the agent did.
const metricsWait = 30 * time.Second

const metricsTOML = `
[device]
id = "pi-metrics"

[server]
url = %q
reconnect_delay = "100ms"
reconnect_delay_max = "200ms"

[outbox]
path = %q

[telemetry]
batch_max_records = 1
batch_max_delay = "10ms"

[agent]
runtime_dir = %q

[metrics]
textfile = %q
interval = "1s"

[[sensors]]
name = "counter"
driver = "sim"
signal = "counter"
interval = "50ms"
`

// scraper fetches an agent's /metrics and parses it.
type scraper struct {
	t   *testing.T
	url string
}

func (s scraper) get() metricstest.Families {
	s.t.Helper()
	resp, err := http.Get(s.url)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET %s: %s %s", s.url, resp.Status, b)
	}
	return metricstest.Parse(s.t, bytes.NewReader(b))
}

// until scrapes until cond holds.
func (s scraper) until(what string, cond func(metricstest.Families) bool) metricstest.Families {
	s.t.Helper()
	deadline := time.Now().Add(metricsWait)
	for {
		f := s.get()
		if cond(f) {
			return f
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("metrics never showed %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The metrics follow what the agent does: connected and delivering, then a
// server outage (disconnects move by one, the outbox fills), then back
// (the outbox drains to 0); commands are counted by result; the textfile
// holds the same families and is removed when the agent stops.
func TestMetricsFollowTheAgent(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	p := faultproxy.Start(t, fmt.Sprintf("127.0.0.1:%d", srv.Port()))
	dir := t.TempDir()
	textfile := filepath.Join(dir, "sioagent.prom")
	doc := fmt.Sprintf(metricsTOML, p.URL(), filepath.Join(dir, "outbox.db"), filepath.Join(dir, "run"), textfile)
	cfg, err := config.Parse("test.toml", []byte(doc), nil, drivers.New())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Metrics.Listen = "127.0.0.1:0" // a free port; config asks for a real one
	a, err := New(Options{Config: cfg, Version: "1.2.3", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	s := scraper{t: t, url: "http://" + a.MetricsAddr().String() + "/metrics"}

	f := s.until("a connected agent with acked telemetry", func(f metricstest.Families) bool {
		v, _ := f.Value("sioagent_outbox_acked_total")
		c, _ := f.Value("sioagent_connected")
		return c == 1 && v >= 3
	})
	if f.Must(t, "sioagent_build_info", "version", "1.2.3", "commit", buildCommit(), "goarch", runtime.GOARCH, "goversion", runtime.Version()) != 1 {
		t.Error("build info")
	}
	if f.Must(t, "sioagent_connection_transport", "transport", "websocket") != 1 {
		t.Error("transport")
	}
	if f.Must(t, "sioagent_sensor_readings_total", "sensor", "counter") < 3 || f.Must(t, "sioagent_sensor_reads_total", "sensor", "counter") < 3 {
		t.Error("readings by sensor")
	}
	if h := f.Histogram("sioagent_outbox_commit_duration_seconds"); h == nil || h.GetSampleCount() == 0 {
		t.Errorf("commit histogram %v", h)
	}
	if h := f.Histogram("sioagent_sensor_read_duration_seconds", "sensor", "counter"); h == nil || h.GetSampleCount() == 0 {
		t.Errorf("read histogram %v", h)
	}
	// Each ack is observed before it is counted as acked (and the
	// histogram is written first): wait for the round trips themselves.
	s.until("ack round trips", func(f metricstest.Families) bool {
		h := f.Histogram("sioagent_outbox_ack_duration_seconds")
		return h != nil && h.GetSampleCount() >= 3 && h.GetSampleSum() > 0
	})
	if f.Must(t, "sioagent_outbox_sent_bytes_total") <= 0 || f.Must(t, "sioagent_outbox_window") < 1 {
		t.Error("sent bytes or window")
	}
	if f.Must(t, "sioagent_outbox_fsyncs_total") < 2*f.Must(t, "sioagent_outbox_commits_total") {
		t.Error("fsyncs below two per commit")
	}
	disconnects := sum(f, "sioagent_disconnects_total")
	connects := f.Must(t, "sioagent_connects_total")

	// A command answered ok and one refused, counted by result.
	postCommand(t, srv.URL(), "pi-metrics", "agent:ping", `{}`)
	postCommand(t, srv.URL(), "pi-metrics", "sensor:read", `{"sensor":"nope"}`)
	postCommand(t, srv.URL(), "pi-metrics", "made:up", `{}`)
	f = s.until("the commands counted", func(f metricstest.Families) bool {
		v, _ := f.Value("sioagent_commands_total", "command", "unknown", "result", "unknown_command")
		return v == 1
	})
	if f.Must(t, "sioagent_commands_total", "command", "agent:ping", "result", "ok") != 1 {
		t.Error("agent:ping not counted ok")
	}
	if v, _ := f.Value("sioagent_commands_total", "command", "sensor:read", "result", "ok"); v != 0 {
		t.Error("a failed sensor:read counted ok")
	}
	if h := f.Histogram("sioagent_command_duration_seconds", "command", "agent:ping"); h == nil || h.GetSampleCount() != 1 {
		t.Errorf("command histogram %v", h)
	}

	// The outage: the proxy refuses and cuts every connection.
	p.SetRefuse(true)
	p.Cut()
	f = s.until("the outage", func(f metricstest.Families) bool {
		c, _ := f.Value("sioagent_connected")
		n, _ := f.Value("sioagent_outbox_records")
		return c == 0 && n >= 3
	})
	if got := sum(f, "sioagent_disconnects_total") - disconnects; got != 1 {
		t.Errorf("disconnects moved by %v, want 1", got)
	}
	if _, ok := f.Value("sioagent_connection_transport", "transport", "websocket"); ok {
		t.Error("a transport while disconnected")
	}
	s.until("reconnection attempts", func(f metricstest.Families) bool {
		v, _ := f.Value("sioagent_reconnect_attempts_total")
		return v >= 2
	})
	if b, err := readTextfile(textfile); err != nil || !strings.Contains(b, "sioagent_outbox_records ") {
		t.Errorf("textfile: %v %q", err, b)
	}

	// Back: connected again and the backlog drains to 0.
	p.SetRefuse(false)
	f = s.until("the backlog drained", func(f metricstest.Families) bool {
		c, _ := f.Value("sioagent_connected")
		n, _ := f.Value("sioagent_outbox_records")
		return c == 1 && n == 0
	})
	if f.Must(t, "sioagent_connects_total") != connects+1 {
		t.Errorf("connects %v, want %v", f.Must(t, "sioagent_connects_total"), connects+1)
	}
	if f.Must(t, "sioagent_outbox_oldest_record_age_seconds") != 0 {
		t.Error("an oldest age with an empty outbox")
	}

	stop()
	if _, err := readTextfile(textfile); err == nil {
		t.Error("the textfile outlived the agent")
	}
}

// sum adds every series of a family.
func sum(f metricstest.Families, name string) float64 {
	var n float64
	for _, m := range f[name].GetMetric() {
		n += m.GetCounter().GetValue()
	}
	return n
}

func readTextfile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

// postCommand sends a command through the example server's HTTP API and
// waits for its answer (whatever it is).
func postCommand(t *testing.T, url, device, name, args string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"name": name, "args": json.RawMessage(args), "timeoutMs": 5000})
	resp, err := http.Post(url+"/api/devices/"+device+"/commands", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// A metrics port in use fails New, naming the key, but not as a
// ConfigError (exit 78, which systemd never restarts): it may be free at
// the next start.
func TestMetricsPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := testConfig(t, builtinsTOML)
	cfg.Metrics.Listen = ln.Addr().String()
	a, err := New(Options{Config: cfg, Hardware: newFakeHardware("GPIO27", "GPIO17"), Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		a.Close()
		t.Fatal("New listened on a port in use")
	}
	var ce *ConfigError
	if errors.As(err, &ce) || !strings.Contains(err.Error(), "metrics.listen") {
		t.Fatalf("New = %v, want an error naming metrics.listen that is not a ConfigError", err)
	}
}
