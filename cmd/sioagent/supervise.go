package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/sioagent/sioagent/agent"
	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/remoteconfig"
)

// runAgents runs an agent with the configuration in effect until ctx
// ends, and a new one, on the same outbox, whenever a remote change (or
// its rollback) needs a new connection; a change of the sensors alone is
// reloaded without one, as SIGHUP reloads the sensors of the local file.
// A pending change the agent cannot start or reload with is rolled back
// at once (remoteconfig.Manager.Failed) and the previous configuration
// runs again. opts is the agent's options but Config and RemoteConfig.
func runAgents(ctx context.Context, mgr *remoteconfig.Manager, opts agent.Options, hup <-chan os.Signal, log *slog.Logger) error {
	cfg, sess := mgr.Session()
	for {
		opts.Config, opts.RemoteConfig = cfg, sess
		a, err := agent.New(opts)
		if err == nil {
			var again bool
			if again, err = superviseAgent(ctx, mgr, a, cfg, sess, hup, log); err == nil && !again {
				return nil
			}
		}
		if err != nil {
			if ctx.Err() != nil || !mgr.Failed(sess.Hash(), err) {
				return err
			}
			log.Error("the agent does not run with the remote configuration change; rolled back", "err", err)
		}
		cfg, sess = mgr.Session()
	}
}

// superviseAgent runs a, whose configuration (running) and session
// mgr.Session gave, until ctx ends (false) or the configuration in effect
// needs a new agent (true). It returns Run's error.
func superviseAgent(ctx context.Context, mgr *remoteconfig.Manager, a *agent.Agent, running *config.Config, sess *remoteconfig.Session, hup <-chan os.Signal, log *slog.Logger) (again bool, err error) {
	runningHash := sess.Hash() // running's sensors, and this, follow reloads
	done := make(chan struct{})
	var runErr error
	go func() {
		defer close(done)
		runErr = a.Run(ctx)
	}()
	for {
		select {
		case <-done:
			return false, runErr
		case <-hup:
			if err := mgr.Reload(); err != nil {
				log.Error("reload refused: config does not load; keeping the running sensors", "err", err)
				continue
			}
			next, hash := mgr.Effective()
			log.Info("reloading sensors", "config", next.File)
			a.Reload(next)
			running, runningHash = withSensors(running, next), hash
		case <-mgr.Changed():
			next, hash := mgr.Effective()
			rolledBack := sess.RolledBack()
			if hash == runningHash && !rolledBack {
				continue // a change already running, or undone
			}
			if remoteconfig.Reconnects(running, next) || rolledBack {
				a.Restart()
				<-done
				return runErr == nil, runErr
			}
			if err := a.ReloadSensors(ctx, next); err != nil {
				if ctx.Err() == nil {
					mgr.Failed(hash, err) // rolled back: Changed tells again
				}
				continue
			}
			sess.Running(hash) // confirmable now that its sensors run
			running, runningHash = withSensors(running, next), hash
		}
	}
}

// withSensors returns a copy of cfg with the sensors of next.
func withSensors(cfg, next *config.Config) *config.Config {
	c := *cfg
	c.Sensors = next.Sensors
	return &c
}
