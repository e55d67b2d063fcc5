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
)

// exitConfig is the exit code for a configuration that cannot be used
// (sysexits EX_CONFIG); the systemd unit does not restart on it.
const exitConfig = 78

const runHelp = `Usage: sioagent run --config FILE

Runs the device agent: samples the configured sensors, stores readings in the
durable outbox, delivers them to the Socket.IO server, and answers the server's
commands. SIGTERM or SIGINT stops it (after delivering what it can within
agent.shutdown_timeout); SIGHUP reloads the sensors from the config file.

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
	hw := newHostHardware(log)
	defer hw.close()
	a, err := agent.New(agent.Options{Config: cfg, Hardware: hw, Logger: log, Version: version})
	if err != nil {
		log.Error("cannot start", "err", err)
		var ce *agent.ConfigError
		if errors.As(err, &ce) {
			return exitConfig
		}
		return exitError
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go reloadOnHUP(runCtx, hup, *cfgPath, a, log)
	if err := a.Run(runCtx); err != nil {
		log.Error("agent stopped", "err", err)
		return exitError
	}
	log.Info("agent stopped")
	return exitOK
}

// reloadOnHUP reloads the sensors from the config file on each SIGHUP; a
// config that no longer loads is logged and the agent keeps running.
func reloadOnHUP(ctx context.Context, hup <-chan os.Signal, path string, a *agent.Agent, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			cfg, err := loadConfig(path)
			if err != nil {
				log.Error("reload refused: config does not load; keeping the running sensors", "err", err)
				continue
			}
			log.Info("reloading sensors", "config", path)
			a.Reload(cfg)
		}
	}
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
