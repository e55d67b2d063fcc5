// Package metricstest parses the Prometheus text format with the
// reference parser (github.com/prometheus/common/expfmt), for tests: what
// the agent exposes must be what Prometheus reads, not what a hand-written
// parser accepts.
package metricstest

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Families are parsed metric families by name.
type Families map[string]*dto.MetricFamily

// Parse parses the text format strictly (legacy names, as Prometheus
// requires of exporters) and fails t on a syntax error.
func Parse(t testing.TB, r io.Reader) Families {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("the exposition does not parse: %v", err)
	}
	return fams
}

// Value returns the value of the series of family name whose labels are
// exactly labels ("k", "v", ...): a counter's, a gauge's or an untyped
// value, or a histogram's sample count. ok is false when there is none.
func (f Families) Value(name string, labels ...string) (v float64, ok bool) {
	m := f.series(name, labels)
	if m == nil {
		return 0, false
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue(), true
	case m.Gauge != nil:
		return m.Gauge.GetValue(), true
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount()), true
	case m.Untyped != nil:
		return m.Untyped.GetValue(), true
	}
	return 0, false
}

// Must is Value that fails t when the series is missing.
func (f Families) Must(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	v, ok := f.Value(name, labels...)
	if !ok {
		t.Fatalf("no series %s%v; families: %v", name, labels, f.Names())
	}
	return v
}

// Histogram returns the histogram of the series, nil if there is none.
func (f Families) Histogram(name string, labels ...string) *dto.Histogram {
	if m := f.series(name, labels); m != nil {
		return m.Histogram
	}
	return nil
}

// Type returns the family's type, "" when there is no such family.
func (f Families) Type(name string) string {
	if mf := f[name]; mf != nil {
		return strings.ToLower(mf.GetType().String())
	}
	return ""
}

// Names returns the family names, sorted.
func (f Families) Names() []string {
	var out []string
	for n := range f {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func (f Families) series(name string, labels []string) *dto.Metric {
	mf := f[name]
	if mf == nil {
		return nil
	}
	if len(labels)%2 != 0 {
		panic(fmt.Sprintf("metricstest: odd label list %v", labels))
	}
	for _, m := range mf.GetMetric() {
		if len(m.GetLabel())*2 != len(labels) {
			continue
		}
		match := true
		for i := 0; i < len(labels); i += 2 {
			if !hasLabel(m, labels[i], labels[i+1]) {
				match = false
				break
			}
		}
		if match {
			return m
		}
	}
	return nil
}

func hasLabel(m *dto.Metric, k, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == k {
			return l.GetValue() == v
		}
	}
	return false
}
