package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/sioagent/sioagent/agent"
	"github.com/sioagent/sioagent/remoteconfig"
)

// exitConfig is the exit code for a configuration that cannot be used
// (sysexits EX_CONFIG); the systemd unit does not restart on it.
const exitConfig = 78

const runHelp = `Usage: sioagent run --config FILE

Runs the device agent: samples the configured sensors, stores readings in the
durable outbox, delivers them to the Socket.IO server, and answers the server's
commands. SIGTERM or SIGINT stops it (after delivering what it can within
agent.shutdown_timeout); SIGHUP reloads the sensors from the config file.
With [remote_config] enabled, the server may change the configuration
(docs/CONFIG.md): the change is kept in the state directory and rolled back
unless the server confirms it in time.

Exit codes: 0 stopped cleanly, 1 runtime error, 2 bad usage, 78 bad config.`

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newPlainFlagSet("run", runHelp, stderr)
	cfgPath := fs.String("config", "/etc/sioagent/sioagent.toml", "configuration `file`")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	if code, ok := parseArgs(fs, args, 0, stdout); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	// Catch SIGHUP from the start: its default action would kill the
	// process while it waits for the outbox lock.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "sioagent: config: %v\n", err)
		return exitConfig
	}
	log, err := newLogger(stderr, cfg.Agent.LogLevel, *logFormat)
	if err != nil {
		fmt.Fprintf(stderr, "sioagent: %v\n", err)
		return exitUsage
	}
	// The local file with the remote change in effect, a pending one
	// rolled back now.
	mgr, err := remoteconfig.Open(remoteconfig.Options{File: *cfgPath, Drivers: newDrivers(), Logger: log.With("part", "remoteconfig")})
	if err != nil {
		fmt.Fprintf(stderr, "sioagent: config: %v\n", err)
		return exitConfig
	}
	defer mgr.Close()
	hw := newHostHardware(log)
	defer hw.close()
	err = runAgents(ctx, mgr, agent.Options{Hardware: hw, Logger: log, Version: version}, hup, log)
	var ce *agent.ConfigError
	switch {
	case errors.As(err, &ce):
		log.Error("cannot start", "err", err)
		return exitConfig
	case err != nil:
		log.Error("agent stopped", "err", err)
		return exitError
	}
	log.Info("agent stopped")
	return exitOK
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	o := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("%w: --log-format %q: want text or json", errUsage, format)
}
