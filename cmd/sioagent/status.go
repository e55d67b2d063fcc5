package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"text/tabwriter"
	"time"

	"github.com/sioagent/sioagent/agent"
	"github.com/sioagent/sioagent/wire"
)

// statusTimeout bounds asking the running agent.
const statusTimeout = 5 * time.Second

// defaultRuntimeDir is where the packaged unit's RuntimeDirectory= is.
const defaultRuntimeDir = "/run/sioagent"

const statusHelp = `Usage: sioagent status [--json] [--config FILE | --runtime-dir DIR]

Asks the running agent, over the unix socket in its runtime directory, for its
state: connection, outbox depth and oldest record, drops, sensor errors and
uptime. Needs membership of the agent's group (or root).

Exit codes: 0 answered, 1 no agent answered, 2 bad usage, 78 --config does not load.`

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newPlainFlagSet("status", statusHelp, stderr)
	asJSON := fs.Bool("json", false, "print the raw JSON status")
	cfgPath := fs.String("config", "", "take the runtime directory from this config `file`")
	dir := fs.String("runtime-dir", "", "runtime `directory` of the agent (default $RUNTIME_DIRECTORY or "+defaultRuntimeDir+")")
	if code, ok := parseArgs(fs, args, 0, stdout); !ok {
		return code
	}
	rd := *dir
	if rd == "" && *cfgPath != "" {
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			fmt.Fprintf(stderr, "sioagent: config: %v\n", err)
			return exitConfig
		}
		rd = cfg.Agent.RuntimeDir
	}
	if rd == "" {
		rd = os.Getenv("RUNTIME_DIRECTORY")
	}
	if rd == "" {
		rd = defaultRuntimeDir
	}
	raw, err := askStatus(ctx, agent.StatusSocketPath(rd))
	if err != nil {
		fmt.Fprintf(stderr, "sioagent: no agent answered at %s: %v\n", agent.StatusSocketPath(rd), err)
		return exitError
	}
	if *asJSON {
		stdout.Write(raw)
		return exitOK
	}
	var s agent.Status
	if err := json.Unmarshal(raw, &s); err != nil {
		fmt.Fprintf(stderr, "sioagent: bad status from the agent: %v\n", err)
		return exitError
	}
	printStatus(stdout, s)
	return exitOK
}

func askStatus(ctx context.Context, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	deadline, _ := ctx.Deadline()
	c.SetDeadline(deadline)
	if _, err := io.WriteString(c, `{"op":"status"}`+"\n"); err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(c, 1<<20))
}

func printStatus(w io.Writer, s agent.Status) {
	conn := "offline"
	if s.Conn.Connected {
		conn = "connected"
		if s.Conn.Recovered {
			conn += " (session recovered)"
		}
	}
	fmt.Fprintf(w, "sioagent %s, device %s, up %s\n", s.Version, s.DeviceID, (time.Duration(s.UptimeSec) * time.Second).String())
	fmt.Fprintf(w, "server:  %s namespace %s: %s", s.Conn.Server, s.Conn.Namespace, conn)
	if s.Conn.Transport != "" && s.Conn.Connected {
		fmt.Fprintf(w, " over %s", s.Conn.Transport)
		if s.Conn.Compressed {
			fmt.Fprint(w, " (compressed)")
		}
	}
	fmt.Fprintf(w, " since %s; %d connects, %d recovered\n", s.Conn.Since.Format(time.RFC3339), s.Conn.Connects, s.Conn.Recoveries)
	if !s.Conn.Connected && s.Conn.LastReason != "" {
		fmt.Fprintf(w, "         last error: %s\n", s.Conn.LastReason)
	}
	if s.Conn.Refusal != "" {
		fmt.Fprintf(w, "         refused: %s\n", s.Conn.Refusal)
	}
	o := s.Outbox
	fmt.Fprintf(w, "outbox:  %d queued (%d bytes, oldest %s), %d in flight, %d acked, %d duplicates, %d dead letters\n", o.Depth, o.Bytes, (time.Duration(o.OldestAgeSec) * time.Second).String(), o.InFlight, o.Acked, o.Duplicates, o.DeadLetters)
	fmt.Fprintf(w, "         window: %d in flight at most%s\n", o.Window, rttNote(o.RTTSec))
	fmt.Fprintf(w, "         drops: %d by size, %d by count, %d by age; %d readings lost before storage\n", o.Drops["maxBytes"], o.Drops["maxRecords"], o.Drops["maxAge"], s.Batches.Lost)
	if s.Batches.Held > 0 {
		fmt.Fprintf(w, "         %d readings held in memory: the outbox refuses them for now (retried)\n", s.Batches.Held)
	}
	if s.Batches.Lost > 0 {
		fmt.Fprintf(w, "         lost before storage:")
		for _, r := range agent.LossReasons() {
			if n := s.Batches.Losses[r]; n > 0 {
				fmt.Fprintf(w, " %d %s", n, r)
			}
		}
		fmt.Fprintln(w)
	}
	if h := o.HeldRecord; h != nil {
		fmt.Fprintf(w, "         HELD at seq %d: %d bytes, more than the server accepts in this session (%d); since %s, %d tries\n",
			h.Seq, h.Size, h.Limit, h.Since.Format(time.RFC3339), h.Tries)
	}
	if o.DeadLettersDiscarded > 0 {
		fmt.Fprintf(w, "         %d dead letters discarded by the dead-letter bounds (see the log; sioagent queue list)\n", o.DeadLettersDiscarded)
	}
	for _, d := range o.DeadLetterSample {
		fmt.Fprintf(w, "         dead letter seq %d (%s): %s\n", d.Seq, d.At.Format(time.RFC3339), d.Reason)
	}
	fmt.Fprintf(w, "clock:   %s\n", clockLine(s.Clock.Synced, s.Clock.Source, s.Clock.Trust))
	if rc := s.RemoteConfig; rc != nil {
		printRemoteConfig(w, *rc)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SENSOR\tDRIVER\tINTERVAL\tREADS\tFAILURES\tLAST READING\tERROR")
	for _, ss := range s.Sensors {
		last := "-"
		if !ss.LastReading.IsZero() {
			last = ss.LastReading.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", ss.Name, ss.Driver, time.Duration(ss.IntervalSec*float64(time.Second)), ss.Reads, ss.Failures, last, ss.LastError)
	}
	tw.Flush()
}

// hashShown is how many hex digits of a configuration hash status prints.
const hashShown = 12

// printRemoteConfig prints the remote configuration lines of the status.
func printRemoteConfig(w io.Writer, rc agent.RemoteConfigStatus) {
	short := func(h string) string { return h[:min(len(h), hashShown)] }
	if !rc.Enabled {
		fmt.Fprintf(w, "config:  %s (remote changes disabled)\n", short(rc.Hash))
		return
	}
	fmt.Fprintf(w, "config:  %s", short(rc.Hash))
	if rc.Pending {
		fmt.Fprintf(w, ", remote change PENDING until %s (rolled back unless confirmed)", rc.Deadline.Format(time.RFC3339))
	}
	fmt.Fprintf(w, "; %d applied, %d confirmed, rolled back:", rc.Applies, rc.Confirms)
	for _, r := range wire.RollbackReasons() {
		fmt.Fprintf(w, " %d %s", rc.Rollbacks[r], r)
	}
	fmt.Fprintln(w)
	if l := rc.LastRollback; l != nil {
		fmt.Fprintf(w, "         last rollback: %s (%s) at %s\n", short(l.Hash), l.Reason, l.At.Format(time.RFC3339))
	}
	if rc.OverlayError != "" {
		fmt.Fprintf(w, "         stored remote change NOT in effect: %s\n", rc.OverlayError)
	}
}

// clockLine says whether readings carry absolute times and why, for status
// and check: operators on RTC boards and in containers must see which
// setting decides.
func clockLine(synced bool, source, trust string) string {
	switch {
	case synced && source != "":
		return fmt.Sprintf("synchronised (%s; [clock] trust = %q)", source, trust)
	case synced:
		return fmt.Sprintf("synchronised ([clock] trust = %q)", trust)
	default:
		return fmt.Sprintf("NOT synchronised ([clock] trust = %q: neither systemd-timesyncd nor the kernel says so; readings are re-timed once it is, "+
			"or sent relative to their arrival; set trust = \"system\" on a board with a real-time clock or a time daemon the agent cannot see)", trust)
	}
}

// rttNote is the round trip the window was sized by, if one was measured.
func rttNote(sec float64) string {
	if sec <= 0 {
		return ""
	}
	return fmt.Sprintf(" (acks' round trip %s)", time.Duration(sec*float64(time.Second)).Round(time.Millisecond))
}
