// Package metrics writes the Prometheus text exposition format (version
// 0.0.4, which Prometheus, VictoriaMetrics, the OpenTelemetry collector
// and node_exporter's textfile collector all read) for a small, fixed set
// of metric families.
//
// A Registry holds families in the order they were registered. Counters
// and gauges are collected at write time from a function that reads the
// program's own counters, so nothing is counted twice; histograms are
// observed as events happen. The package imports nothing but the standard
// library: a general metrics library costs a Pi binary hundreds of
// kilobytes for features (dynamic registration, protobuf, summaries) an
// agent with a fixed set of series does not use.
//
// Names and label names are checked when a family is registered (a bad
// one is a programming error and panics); label values are escaped when
// written. Every family has a HELP text.
package metrics

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// ContentType is the media type of what Registry.Write produces.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Type is a metric family's type, as its TYPE line says.
type Type string

// The family types.
const (
	Counter   Type = "counter"
	Gauge     Type = "gauge"
	Histogram Type = "histogram"
)

// Emit reports one series of a collected family: its value and the values
// of the family's labels, in their order.
type Emit func(value float64, labelValues ...string)

// family is one metric family.
type family struct {
	name, help string
	typ        Type
	labels     []string
	// write writes the family's samples (not its HELP and TYPE lines).
	write func(w *writer)
}

// Registry is a set of metric families. Its methods are safe for
// concurrent use.
type Registry struct {
	mu       sync.Mutex
	families []*family
	names    map[string]bool
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{names: map[string]bool{}} }

// CounterFunc registers a counter family whose series collect reports at
// each write through emit. A counter's name ends in "_total".
func (r *Registry) CounterFunc(name, help string, labels []string, collect func(emit Emit)) {
	if !strings.HasSuffix(name, "_total") {
		panic(fmt.Sprintf("metrics: counter %q does not end in _total", name))
	}
	r.collected(name, help, Counter, labels, collect)
}

// GaugeFunc registers a gauge family whose series collect reports at each
// write through emit.
func (r *Registry) GaugeFunc(name, help string, labels []string, collect func(emit Emit)) {
	r.collected(name, help, Gauge, labels, collect)
}

func (r *Registry) collected(name, help string, typ Type, labels []string, collect func(Emit)) {
	f := &family{name: name, help: help, typ: typ, labels: slices.Clone(labels)}
	f.write = func(w *writer) {
		collect(func(v float64, values ...string) { w.sample(f.name, "", f.labels, values, "", "", v) })
	}
	r.add(f)
}

// add checks f's names and registers it.
func (r *Registry) add(f *family) {
	mustName(f.name)
	if f.help == "" {
		panic(fmt.Sprintf("metrics: %q has no help text", f.name))
	}
	for _, l := range f.labels {
		mustName(l)
		if strings.HasPrefix(l, "__") || l == "le" {
			panic(fmt.Sprintf("metrics: %q: label name %q is reserved", f.name, l))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.names[f.name] {
		panic(fmt.Sprintf("metrics: %q registered twice", f.name))
	}
	r.names[f.name] = true
	r.families = append(r.families, f)
}

// Families returns the name, type and help text of every family, in
// registration order.
func (r *Registry) Families() []Family {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Family, len(r.families))
	for i, f := range r.families {
		out[i] = Family{Name: f.name, Type: f.typ, Help: f.help, Labels: slices.Clone(f.labels)}
	}
	return out
}

// Family describes a registered metric family.
type Family struct {
	Name   string
	Type   Type
	Help   string
	Labels []string
}

// Write writes every family, in registration order, in the text format.
// It calls the collect functions of counters and gauges.
func (r *Registry) Write(out io.Writer) error {
	r.mu.Lock()
	fams := slices.Clone(r.families)
	r.mu.Unlock()
	w := &writer{b: bufio.NewWriter(out)}
	for _, f := range fams {
		w.meta(f)
		f.write(w)
	}
	if w.err != nil {
		return w.err
	}
	return w.b.Flush()
}

// writer writes the text format, keeping the first error.
type writer struct {
	b   *bufio.Writer
	err error
}

func (w *writer) str(s string) {
	if w.err == nil {
		_, w.err = w.b.WriteString(s)
	}
}

// meta writes a family's HELP and TYPE lines.
func (w *writer) meta(f *family) {
	w.str("# HELP " + f.name + " " + helpEscaper.Replace(f.help) + "\n")
	w.str("# TYPE " + f.name + " " + string(f.typ) + "\n")
}

// sample writes one sample line: name+suffix, the labels with their
// values (a missing value is written empty, extra ones are ignored), then
// an extra label (histograms' le) when extraName is set, and v.
func (w *writer) sample(name, suffix string, labels, values []string, extraName, extraValue string, v float64) {
	w.str(name + suffix)
	if len(labels) > 0 || extraName != "" {
		w.str("{")
		for i, l := range labels {
			if i > 0 {
				w.str(",")
			}
			val := ""
			if i < len(values) {
				val = values[i]
			}
			w.str(l + `="` + labelEscaper.Replace(val) + `"`)
		}
		if extraName != "" {
			if len(labels) > 0 {
				w.str(",")
			}
			w.str(extraName + `="` + extraValue + `"`)
		}
		w.str("}")
	}
	w.str(" " + formatFloat(v) + "\n")
}

// formatFloat writes v as the text format wants it.
func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// mustName panics unless s is a valid metric or label name
// ([a-zA-Z_][a-zA-Z0-9_]*; colons are for recording rules, not exporters).
func mustName(s string) {
	ok := s != ""
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9'
	}
	if !ok {
		panic(fmt.Sprintf("metrics: %q is not a valid name", s))
	}
}

// Bool is 1 for true and 0 for false, for gauges such as "connected".
func Bool(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
