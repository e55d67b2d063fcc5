package main

import (
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors/clock"
)

// The clock line of status and check names the setting that decides, so
// an operator on an RTC board or in a container sees what to change.
func TestClockLine(t *testing.T) {
	for _, tt := range []struct {
		synced       bool
		source, want string
	}{
		{true, clock.SourceTrusted, `synchronised (trusted by configuration; [clock] trust = "system")`},
		{true, clock.SourceKernel, `synchronised (kernel NTP state; [clock] trust = "system")`},
		{false, "", `NOT synchronised ([clock] trust = "system"`},
	} {
		if got := clockLine(tt.synced, tt.source, "system"); !strings.HasPrefix(got, tt.want) {
			t.Errorf("clockLine(%v, %q) = %q, want it to start with %q", tt.synced, tt.source, got, tt.want)
		}
	}
	if got := clockLine(false, "", "auto"); !strings.Contains(got, `trust = "system"`) {
		t.Errorf("unsynchronised line %q does not say how to trust the system clock", got)
	}
}

func TestMetricsLine(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		m    config.Metrics
		want string
	}{
		{config.Metrics{}, "off"},
		{config.Metrics{Listen: "127.0.0.1:9464"}, "http://127.0.0.1:9464/metrics"},
		{config.Metrics{Textfile: dir + "/s.prom", Interval: time.Minute}, "textfile " + dir + "/s.prom every 1m0s"},
		{config.Metrics{Textfile: dir + "/missing/s.prom", Interval: time.Minute}, "WARNING: its directory does not exist"},
	} {
		got := metricsLine(tt.m)
		if !strings.Contains(got, tt.want) || (tt.want != "off" && strings.Contains(got, "WARNING") != strings.Contains(tt.want, "WARNING")) {
			t.Errorf("metricsLine(%+v) = %q, want %q in it", tt.m, got, tt.want)
		}
	}
}
