package metrics_test

import (
	"bytes"
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sioagent/sioagent/internal/metricstest"
	"github.com/sioagent/sioagent/metrics"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func write(t *testing.T, r *metrics.Registry) metricstest.Families {
	t.Helper()
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	return metricstest.Parse(t, &b)
}

// What the registry writes parses with Prometheus's own parser, with the
// types, label values (escaped) and values that were collected.
func TestWriteParses(t *testing.T) {
	r := metrics.NewRegistry()
	var n float64
	r.CounterFunc("x_events_total", "Events.\nSecond line with a \\.", []string{"reason"}, func(emit metrics.Emit) {
		emit(n, "a")
		emit(2*n, "quote \" backslash \\ newline \n")
	})
	r.GaugeFunc("x_up", "Up.", nil, func(emit metrics.Emit) { emit(metrics.Bool(true)) })
	r.GaugeFunc("x_special", "Special values.", []string{"k"}, func(emit metrics.Emit) {
		emit(math.Inf(1), "inf")
		emit(math.NaN(), "nan")
		emit(-0.5, "neg")
	})
	r.GaugeFunc("x_none", "A family with no series now.", nil, func(metrics.Emit) {})
	n = 3
	f := write(t, r)
	if got := f.Must(t, "x_events_total", "reason", "a"); got != 3 {
		t.Errorf("x_events_total{a} = %v, want 3", got)
	}
	if got := f.Must(t, "x_events_total", "reason", "quote \" backslash \\ newline \n"); got != 6 {
		t.Errorf("escaped label: %v, want 6", got)
	}
	if f.Type("x_events_total") != "counter" || f.Type("x_up") != "gauge" {
		t.Errorf("types %q %q", f.Type("x_events_total"), f.Type("x_up"))
	}
	if got := f["x_events_total"].GetHelp(); got != "Events.\nSecond line with a \\." {
		t.Errorf("help = %q", got)
	}
	if f.Must(t, "x_special", "k", "inf") != math.Inf(1) || !math.IsNaN(f.Must(t, "x_special", "k", "nan")) || f.Must(t, "x_special", "k", "neg") != -0.5 {
		t.Error("special values")
	}
	n = 4
	if got := write(t, r).Must(t, "x_events_total", "reason", "a"); got != 4 {
		t.Errorf("second write = %v, want 4: counters are collected at each write", got)
	}
}

func TestHistogram(t *testing.T) {
	r := metrics.NewRegistry()
	h := r.Histogram("x_duration_seconds", "Durations.", []float64{0.1, 1}, "op")
	for _, v := range []float64{0.05, 0.1, 0.5, 2, 3} {
		h.Observe(v, "read")
	}
	h.ObserveDuration(20*time.Millisecond, "write")
	f := write(t, r)
	hr := f.Histogram("x_duration_seconds", "op", "read")
	if hr == nil {
		t.Fatalf("no histogram; %v", f.Names())
	}
	if hr.GetSampleCount() != 5 || math.Abs(hr.GetSampleSum()-5.65) > 1e-9 {
		t.Errorf("count %d sum %v, want 5 and 5.65", hr.GetSampleCount(), hr.GetSampleSum())
	}
	want := map[float64]uint64{0.1: 2, 1: 3} // le is inclusive, counts cumulative
	for _, b := range hr.GetBucket() {
		if w, ok := want[b.GetUpperBound()]; ok && b.GetCumulativeCount() != w {
			t.Errorf("bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), w)
		}
	}
	if f.Type("x_duration_seconds") != "histogram" {
		t.Errorf("type %q", f.Type("x_duration_seconds"))
	}
	if hw := f.Histogram("x_duration_seconds", "op", "write"); hw == nil || hw.GetSampleCount() != 1 {
		t.Errorf("write series %v", hw)
	}
}

// A histogram keeps at most MaxSeries series; further label values share
// the overflow series.
func TestHistogramSeriesBound(t *testing.T) {
	r := metrics.NewRegistry()
	h := r.Histogram("x_seconds", "Bounded.", metrics.DurationBuckets, "name")
	for i := range metrics.MaxSeries + 50 {
		h.Observe(1, strings.Repeat("n", i+1))
	}
	f := write(t, r)
	if got := len(f["x_seconds"].GetMetric()); got != metrics.MaxSeries+1 {
		t.Fatalf("%d series, want %d and the overflow one", got, metrics.MaxSeries)
	}
	if got := f.Must(t, "x_seconds", "name", metrics.OverflowValue); got != 50 {
		t.Errorf("overflow series counted %v, want 50", got)
	}
}

func TestRegistrationChecks(t *testing.T) {
	for name, reg := range map[string]func(r *metrics.Registry){
		"counter without _total": func(r *metrics.Registry) { r.CounterFunc("x", "h", nil, func(metrics.Emit) {}) },
		"bad name":               func(r *metrics.Registry) { r.GaugeFunc("x-y", "h", nil, func(metrics.Emit) {}) },
		"digit first":            func(r *metrics.Registry) { r.GaugeFunc("1x", "h", nil, func(metrics.Emit) {}) },
		"bad label":              func(r *metrics.Registry) { r.GaugeFunc("x", "h", []string{"a b"}, func(metrics.Emit) {}) },
		"reserved label":         func(r *metrics.Registry) { r.Histogram("x", "h", []float64{1}, "le") },
		"no help":                func(r *metrics.Registry) { r.GaugeFunc("x", "", nil, func(metrics.Emit) {}) },
		"twice": func(r *metrics.Registry) {
			r.GaugeFunc("x", "h", nil, func(metrics.Emit) {})
			r.GaugeFunc("x", "h", nil, func(metrics.Emit) {})
		},
		"unsorted buckets": func(r *metrics.Registry) { r.Histogram("x", "h", []float64{2, 1}) },
		"histogram _total": func(r *metrics.Registry) { r.Histogram("x_total", "h", []float64{1}) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("registered")
				}
			}()
			reg(metrics.NewRegistry())
		})
	}
}

func TestProcessFamilies(t *testing.T) {
	r := metrics.NewRegistry()
	metrics.RegisterProcess(r)
	f := write(t, r)
	if v := f.Must(t, "process_resident_memory_bytes"); v < 1<<20 {
		t.Errorf("rss %v: less than 1 MiB", v)
	}
	start := f.Must(t, "process_start_time_seconds")
	if now := float64(time.Now().Unix()); start > now+1 || start < now-3600 {
		t.Errorf("start time %v, now %v", start, now)
	}
	if f.Must(t, "process_open_fds") < 3 || f.Must(t, "process_max_fds") < f.Must(t, "process_open_fds") {
		t.Error("fds")
	}
	if f.Must(t, "go_goroutines") < 1 || f.Must(t, "go_memstats_heap_alloc_bytes") <= 0 || f.Type("process_cpu_seconds_total") != "counter" {
		t.Error("go runtime families")
	}
}

func TestHandlerAndServe(t *testing.T) {
	r := metrics.NewRegistry()
	r.GaugeFunc("x_up", "Up.", nil, func(emit metrics.Emit) { emit(1) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- metrics.Serve(ctx, ln, r) }()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(method, path string) (*http.Response, string) {
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("GET", "/metrics")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != metrics.ContentType {
		t.Fatalf("GET /metrics: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	if metricstest.Parse(t, strings.NewReader(body)).Must(t, "x_up") != 1 {
		t.Error("x_up")
	}
	if resp, _ := get("GET", "/"); resp.StatusCode != 404 {
		t.Errorf("GET /: %s", resp.Status)
	}
	if resp, _ := get("POST", "/metrics"); resp.StatusCode != 405 {
		t.Errorf("POST: %s", resp.Status)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}

// WriteFile replaces the file whole, readable by others, and leaves no
// temporary file behind; a failure leaves the old file.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sioagent.prom")
	r := metrics.NewRegistry()
	v := 1.0
	r.GaugeFunc("x_v", "V.", nil, func(emit metrics.Emit) { emit(v) })
	for _, want := range []float64{1, 2} {
		v = want
		if err := metrics.WriteFile(path, r); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := metricstest.Parse(t, bytes.NewReader(b)).Must(t, "x_v"); got != want {
			t.Fatalf("file holds %v, want %v", got, want)
		}
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != metrics.FileMode {
		t.Errorf("mode %v, want %v", fi.Mode().Perm(), os.FileMode(metrics.FileMode))
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only the file", len(ents))
	}
	if err := metrics.WriteFile(filepath.Join(dir, "missing", "x.prom"), r); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
}

func TestFamilies(t *testing.T) {
	r := metrics.NewRegistry()
	r.GaugeFunc("x_b", "B.", []string{"k"}, func(metrics.Emit) {})
	r.Histogram("x_a_seconds", "A.", []float64{1})
	got := r.Families()
	if len(got) != 2 || got[0].Name != "x_b" || got[0].Type != metrics.Gauge || got[0].Labels[0] != "k" || got[1].Type != metrics.Histogram {
		t.Fatalf("%+v", got)
	}
}
