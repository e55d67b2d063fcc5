package metrics

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// MaxSeries bounds the series of one histogram family: label values come
// from the configuration (sensor names) or from a fixed list (command
// names), but a bound keeps a mistake from growing memory without end.
// Observations for further label values go to one series whose values
// are all OverflowValue.
const MaxSeries = 256

// OverflowValue is the label value of the series that collects a
// histogram's observations beyond MaxSeries.
const OverflowValue = "_other"

// DurationBuckets are upper bounds in seconds for durations from a
// millisecond to a minute: sensor reads, commits, acks, commands.
var DurationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// HistogramVec is a histogram family: one histogram per combination of
// label values.
type HistogramVec struct {
	f       *family
	buckets []float64

	mu     sync.Mutex
	series map[string]*series
}

// series is one histogram: counts[i] is the observations ≤ buckets[i]
// (not cumulative; Write sums them), the last one those above every
// bound.
type series struct {
	values []string
	counts []uint64
	sum    float64
	count  uint64
}

// Histogram registers a histogram family with the given upper bounds (in
// increasing order; +Inf is implied) and label names.
func (r *Registry) Histogram(name, help string, buckets []float64, labels ...string) *HistogramVec {
	if !slices.IsSorted(buckets) || len(buckets) == 0 || math.IsInf(buckets[len(buckets)-1], 1) {
		panic(fmt.Sprintf("metrics: %q: buckets must be finite and in increasing order", name))
	}
	for _, s := range []string{"_bucket", "_sum", "_count", "_total"} {
		if strings.HasSuffix(name, s) {
			panic(fmt.Sprintf("metrics: histogram %q ends in %s", name, s))
		}
	}
	h := &HistogramVec{buckets: slices.Clone(buckets), series: map[string]*series{}}
	h.f = &family{name: name, help: help, typ: Histogram, labels: slices.Clone(labels), write: h.write}
	r.add(h.f)
	return h
}

// Observe records v (in the family's unit, seconds for durations) in the
// series of labelValues (one per label name).
func (h *HistogramVec) Observe(v float64, labelValues ...string) {
	key := strings.Join(labelValues, "\xff")
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.series[key]
	if s == nil {
		if len(h.series) >= MaxSeries {
			over := make([]string, len(h.f.labels))
			for i := range over {
				over[i] = OverflowValue
			}
			labelValues, key = over, strings.Join(over, "\xff")
			s = h.series[key]
		}
		if s == nil {
			s = &series{values: slices.Clone(labelValues), counts: make([]uint64, len(h.buckets)+1)}
			h.series[key] = s
		}
	}
	i, _ := slices.BinarySearch(h.buckets, v) // the first bound ≥ v
	s.counts[i]++
	s.sum += v
	s.count++
}

// ObserveDuration records d in seconds.
func (h *HistogramVec) ObserveDuration(d time.Duration, labelValues ...string) {
	h.Observe(d.Seconds(), labelValues...)
}

// write writes every series, in the order of their label values.
func (h *HistogramVec) write(w *writer) {
	h.mu.Lock()
	keys := make([]string, 0, len(h.series))
	for k := range h.series {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	type snap struct {
		values []string
		counts []uint64
		sum    float64
		count  uint64
	}
	snaps := make([]snap, len(keys))
	for i, k := range keys {
		s := h.series[k]
		snaps[i] = snap{s.values, slices.Clone(s.counts), s.sum, s.count}
	}
	h.mu.Unlock()
	name, labels := h.f.name, h.f.labels
	for _, s := range snaps {
		var cum uint64
		for i, ub := range h.buckets {
			cum += s.counts[i]
			w.sample(name, "_bucket", labels, s.values, "le", formatFloat(ub), float64(cum))
		}
		w.sample(name, "_bucket", labels, s.values, "le", "+Inf", float64(s.count))
		w.sample(name, "_sum", labels, s.values, "", "", s.sum)
		w.sample(name, "_count", labels, s.values, "", "", float64(s.count))
	}
}
