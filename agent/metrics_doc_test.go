package agent

import (
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
)

// metricsDoc is the reference of every series.
const metricsDoc = "../docs/METRICS.md"

// docRow is a row of the reference's tables: | `name` | type | labels | ...
var docRow = regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| (counter|gauge|histogram) \\| ([^|]*) \\|")

// TestMetricsDocumented: docs/METRICS.md has a row for every family the
// agent registers, with its type and labels, and none for a family it
// does not (with the metrics endpoint and textfile off: they add none;
// with a RemoteConfig and a drain rate, which add theirs).
func TestMetricsDocumented(t *testing.T) {
	cfg := testConfig(t, builtinsTOML)
	cfg.Outbox.DrainRate = 1 << 20 // the drain-rate gauge is registered only when one is set
	a, err := New(Options{Config: cfg, Hardware: newFakeHardware("GPIO27", "GPIO17"), Logger: slog.New(slog.DiscardHandler),
		RemoteConfig: &fakeRemote{}}) // the remote configuration families come with one
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := os.ReadFile(metricsDoc)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ typ, labels string }
	doc := map[string]row{}
	for _, m := range docRow.FindAllStringSubmatch(string(b), -1) {
		doc[m[1]] = row{m[2], strings.TrimSpace(m[3])}
	}
	for _, f := range a.metrics.reg.Families() {
		labels := "—"
		if len(f.Labels) > 0 {
			labels = "`" + strings.Join(f.Labels, "`, `") + "`"
		}
		want := row{string(f.Type), labels}
		got, ok := doc[f.Name]
		switch {
		case !ok:
			t.Errorf("%s has no row; add:\n| `%s` | %s | %s | %s |", metricsDoc, f.Name, f.Type, labels, f.Help)
		case got != want:
			t.Errorf("%s: %s documented as %+v, is %+v", metricsDoc, f.Name, got, want)
		}
		delete(doc, f.Name)
	}
	for name := range doc {
		t.Errorf("%s documents %s, which the agent does not register", metricsDoc, name)
	}
}
