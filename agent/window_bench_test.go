package agent

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/store"
	"github.com/sioagent/sioagent/telemetry"
)

// windowSensor is a sensor whose every Read returns a new value (its
// index) and records when it returned.
type windowSensor struct {
	mu    sync.Mutex
	taken []time.Time // by value
}

func (s *windowSensor) Name() string { return "bench" }
func (s *windowSensor) Close() error { return nil }

func (s *windowSensor) Read(context.Context) ([]sensors.Value, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := len(s.taken)
	s.taken = append(s.taken, time.Now())
	return []sensors.Value{{Quantity: "v", Unit: "Cel", Value: float64(i)}}, nil
}

func (s *windowSensor) takenAt(i int) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.taken[i]
}

// BenchmarkCommitWindow measures the window in which a reading exists only
// in memory: from a sensor's Read returning to the fsynced commit of the
// batch that holds it, with the default batch_max_records and
// batch_max_delay and the default store options, through the real sampler,
// batcher and store (a temporary directory). One op is one reading, taken
// at the sub-benchmark's rate; it reports the window's p50, p99 and max,
// and the p99 of the commit (Enqueue) alone. At 40 readings/s batches
// close by batch_max_delay (the window is up to that delay plus one
// commit); at 1000 readings/s they close full.
func BenchmarkCommitWindow(b *testing.B) {
	for _, c := range []struct {
		name  string
		every time.Duration
	}{{"40-per-s", 25 * time.Millisecond}, {"1000-per-s", time.Millisecond}} {
		b.Run(c.name, func(b *testing.B) { benchWindow(b, c.every) })
	}
}

func benchWindow(b *testing.B, every time.Duration) {
	st, err := store.Open(filepath.Join(b.TempDir(), "outbox.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	c, err := telemetry.New(testDevice)
	if err != nil {
		b.Fatal(err)
	}
	bt := newBatcher(c, st, config.DefaultBatchMaxRecords, config.DefaultBatchMaxDelay, func() {}, slog.New(slog.DiscardHandler))
	sensor := &windowSensor{}
	var mu sync.Mutex
	var windows, commits []time.Duration
	committed := make(chan struct{}, 1)
	real := bt.enqueueFn
	bt.enqueueFn = func(ctx context.Context, count int, payload []byte) (uint64, error) {
		start := time.Now()
		seq, err := real(ctx, count, payload)
		end := time.Now()
		if err != nil {
			return seq, err
		}
		rs, derr := c.Decode(payload)
		if derr != nil {
			b.Error(derr)
		}
		mu.Lock()
		commits = append(commits, end.Sub(start))
		for _, r := range rs {
			windows = append(windows, end.Sub(sensor.takenAt(int(r.Value))))
		}
		mu.Unlock()
		select {
		case committed <- struct{}{}:
		default:
		}
		return seq, nil
	}
	batchCtx, stopBatch := context.WithCancel(context.Background())
	batchDone := make(chan struct{})
	go func() { defer close(batchDone); bt.run(batchCtx) }()
	sampleCtx, stopSampling := context.WithCancel(context.Background())
	var s *sensors.Sampler
	s, err = sensors.NewSampler(sensors.SamplerOptions{
		Logger:     slog.New(slog.DiscardHandler),
		OnReadings: func(rs []sensors.Reading, urgent bool) { bt.add(sampleCtx, rs, urgent) },
	}, []sensors.Schedule{{Sensor: sensor, Interval: every}})
	if err != nil {
		b.Fatal(err)
	}
	sampleDone := make(chan struct{})
	b.ResetTimer()
	go func() { defer close(sampleDone); _ = s.Run(sampleCtx) }()
	for {
		sensor.mu.Lock()
		n := len(sensor.taken)
		sensor.mu.Unlock()
		if n >= b.N {
			break
		}
		time.Sleep(every)
	}
	// Every reading up to b.N must be committed by the batcher's own
	// triggers (the stop would flush early and shorten the window).
	for {
		mu.Lock()
		n := len(windows)
		mu.Unlock()
		if n >= b.N {
			break
		}
		<-committed
	}
	b.StopTimer()
	stopSampling()
	<-sampleDone
	stopBatch()
	<-batchDone
	mu.Lock()
	defer mu.Unlock()
	w := windows[:b.N]
	slices.Sort(w)
	slices.Sort(commits)
	b.ReportMetric(millis(w[len(w)/2]), "p50-ms")
	b.ReportMetric(millis(w[(len(w)*99)/100]), "p99-ms")
	b.ReportMetric(millis(w[len(w)-1]), "max-ms")
	b.ReportMetric(millis(commits[(len(commits)*99)/100]), "commit-p99-ms")
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
