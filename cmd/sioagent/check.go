package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sioagent/sioagent/agent"
	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors/clock"
)

const checkHelp = `Usage: sioagent check --config FILE

Validates the config, opens each enabled sensor, reads it once and prints a
table of sensor, quantity, value, unit, time and clock state. Run it while the
agent is stopped (hardware cannot be opened twice). Simulated sensors work on
any machine.

Exit codes: 0 every sensor read, 1 some sensor failed (each is named), 2 bad
usage, 78 bad config.`

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newPlainFlagSet("check", checkHelp, stderr)
	cfgPath := fs.String("config", "/etc/sioagent/sioagent.toml", "configuration `file`")
	if code, ok := parseArgs(fs, args, 0, stdout); !ok {
		return code
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "sioagent: config: %v\n", err)
		return exitConfig
	}
	fmt.Fprintf(stdout, "config %s: ok (device %s, server %s)\n", cfg.File, cfg.Device.ID, cfg.Server.URL)
	clk, err := clock.New(clock.Options{TrustSystem: cfg.Clock.Trust == config.ClockTrustSystem})
	if err != nil {
		fmt.Fprintf(stderr, "sioagent: clock: %v\n", err)
		return exitError
	}
	synced, source := clk.Sync()
	fmt.Fprintf(stdout, "clock: %s\n", clockLine(synced, source, cfg.Clock.Trust))
	fmt.Fprintf(stdout, "metrics: %s\n", metricsLine(cfg.Metrics))
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	hw := newHostHardware(log)
	defer hw.close()
	ctx, cancel := context.WithTimeout(ctx, agent.CheckTimeout)
	defer cancel()
	results := agent.CheckSensors(ctx, cfg, hw, clk)
	printCheck(stdout, results)
	var failed []string
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, r.Sensor)
			fmt.Fprintf(stderr, "FAIL %v\n", r.Err)
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(stderr, "sioagent: %d of %d sensors failed: %s\n", len(failed), len(results), strings.Join(failed, ", "))
		return exitError
	}
	fmt.Fprintf(stdout, "%d sensors ok\n", len(results))
	return exitOK
}

func printCheck(w io.Writer, results []agent.CheckResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SENSOR\tDRIVER\tQUANTITY\tVALUE\tUNIT\tTIME\tCLOCK")
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\tFAILED\n", r.Sensor, r.Driver)
			continue
		}
		for _, rd := range r.Readings {
			sync := "synced"
			if !rd.Synced {
				sync = "not synced"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Sensor, r.Driver, rd.Quantity, strconv.FormatFloat(rd.Value, 'g', 8, 64), rd.Unit, rd.Time.Format(time.RFC3339), sync)
		}
	}
	tw.Flush()
}

// metricsLine says where the metrics go, for check: off, the endpoint's
// URL, the textfile and its interval, and whether the textfile's
// directory exists (a missing one is the usual mistake: node_exporter's
// package creates it).
func metricsLine(m config.Metrics) string {
	var parts []string
	if m.Listen != "" {
		parts = append(parts, "http://"+m.Listen+"/metrics")
	}
	if m.Textfile != "" {
		p := fmt.Sprintf("textfile %s every %s", m.Textfile, m.Interval)
		if fi, err := os.Stat(filepath.Dir(m.Textfile)); err != nil || !fi.IsDir() {
			p += " (WARNING: its directory does not exist)"
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "off ([metrics] listen or textfile turns them on)"
	}
	return strings.Join(parts, "; ")
}
