package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/sioagent/sioagent/internal/backoff"
	"github.com/sioagent/sioagent/protocol/socketio"
)

// Named durations of start-up and shutdown.
const (
	// healthWindow is how recently the sampler and the batcher must have
	// made progress for WATCHDOG=1 to be sent.
	healthWindow = 10 * time.Second
	// offlineGrace is how long shutdown keeps waiting for the connection
	// to come back before leaving the rest of the outbox on disk.
	offlineGrace = time.Second
	// commandsGrace is how long shutdown waits for running commands
	// after their context was cancelled.
	commandsGrace = 2 * time.Second
	// retryJitter spreads each of the agent's retry delays by up to ±50%.
	retryJitter = 0.5
)

// Errors of Run.
var (
	// ErrRunTwice is returned by a second call of Run.
	ErrRunTwice = errors.New("agent: Run called twice")
	// ErrClosed is returned by Run after Close.
	ErrClosed = errors.New("agent: closed")
)

// Run starts sampling, delivery, commands and the status socket, tells
// systemd it is ready, and runs until ctx ends. It then stops sampling,
// stores what the sensors produced, delivers what it can within the
// configured shutdown deadline, leaves the rest in the outbox, and closes
// everything. It returns nil after a clean stop.
func (a *Agent) Run(ctx context.Context) error {
	a.mu.Lock()
	switch {
	case a.closed:
		a.mu.Unlock()
		return ErrClosed
	case a.running:
		a.mu.Unlock()
		return ErrRunTwice
	}
	a.running = true
	a.mu.Unlock()
	defer a.stop()

	drainCtx, stopDrain := context.WithCancel(context.Background())
	defer stopDrain()
	drainDone := make(chan struct{})
	var drainErr error
	go func() {
		defer close(drainDone)
		drainErr = a.drainer.Run(drainCtx)
	}()

	batchCtx, stopBatch := context.WithCancel(context.Background())
	defer stopBatch()
	batchDone := make(chan struct{})
	go func() { defer close(batchDone); a.batch.run(batchCtx) }()

	run, err := a.startSampler(a.cfg.Sensors)
	if err != nil {
		stopBatch()
		<-batchDone
		stopDrain()
		<-drainDone
		a.closeConn()
		return err
	}
	a.setSampler(run)

	connCtx, stopConn := context.WithCancel(context.Background())
	connDone := make(chan struct{})
	go func() {
		defer close(connDone)
		a.connect(connCtx)
	}()

	metricsCtx, stopMetrics := context.WithCancel(context.Background())
	defer stopMetrics()
	metricsDone := a.serveMetrics(metricsCtx)

	status, statusErr := a.serveStatus()
	if statusErr != nil {
		a.log.Warn("status socket not available", "err", statusErr)
	}

	a.notify("READY=1\nSTATUS=" + a.Status().statusLine())
	a.log.Info("agent running", "device", a.cfg.Device.ID, "server", redactURL(a.cfg.Server.URL), "sensors", len(a.cfg.Sensors), "outbox", a.cfg.Outbox.Path)
	loopErr := a.loop(ctx, drainDone)
	if loopErr != nil && !errors.Is(loopErr, errRestart) {
		a.log.Error("stopping: delivery failed", "err", drainErr)
		cause := drainErr
		if cause == nil {
			cause = errDeliveryStopped
		}
		loopErr = fmt.Errorf("agent: delivery stopped: %w", cause)
	}

	restarting := errors.Is(loopErr, errRestart)
	if restarting {
		loopErr = nil
		a.log.Info("restarting with another configuration")
		// Let running commands answer first (config:apply's ack):
		// stopping their context would answer "agent stopping".
		if !a.disp.close(commandsGrace) {
			a.log.Warn("commands still running at the restart", "grace", commandsGrace)
		}
	} else {
		a.notify("STOPPING=1")
		a.log.Info("stopping", "deadline", a.cfg.Agent.ShutdownTimeout)
	}
	deadline := time.Now().Add(a.cfg.Agent.ShutdownTimeout)
	a.sampler().halt()
	stopBatch()
	<-batchDone
	if loopErr == nil && !restarting {
		a.flush(deadline) // nothing would drain it after delivery stopped
	}
	stopDrain()
	<-drainDone
	a.stop()
	if !a.disp.close(commandsGrace) {
		a.log.Warn("commands still running at exit (they ignore their context)", "grace", commandsGrace)
	}
	stopConn()
	<-connDone
	if status != nil {
		status.close()
	}
	stopMetrics()
	metricsDone()
	if err := a.closeConn(); err != nil && loopErr == nil {
		return err
	}
	return loopErr
}

// connect makes the socket active. The client reconnects dropped links by
// itself, and SocketOptions.Rejoin (see dial) connects it again after the
// server disconnected or refused it: a device agent is a service, it keeps
// trying until it is stopped (ctx, then Client.Close).
func (a *Agent) connect(ctx context.Context) {
	_ = a.sock.Connect(ctx)
}

// newRetryBackoff returns the backoff of the agent's own retries (batches
// the outbox refused, hold.go): doubling from base to max, ±retryJitter,
// never past max.
func newRetryBackoff(base, max time.Duration) backoff.Backoff {
	return backoff.Backoff{Base: base, Max: max, Jitter: retryJitter}
}

// errDeliveryStopped is returned by loop when the drainer ended by itself.
var errDeliveryStopped = errors.New("delivery stopped")

// loop is the agent's main loop: watchdog, STATUS= updates, reloads and
// rollback reports. It returns nil when ctx ends, errRestart after
// Restart, or errDeliveryStopped if the outbox drainer
// ended by itself (then nothing would be delivered any more: better to
// exit and let systemd restart the agent), or the store's error when a
// commit failed on I/O (store.ErrFailed).
func (a *Agent) loop(ctx context.Context, drainDone <-chan struct{}) error {
	wd := a.watchdogInterval()
	var wdC <-chan time.Time
	if wd > 0 {
		t := time.NewTicker(wd)
		defer t.Stop()
		wdC = t.C
	}
	statusT := time.NewTicker(statusEvery)
	defer statusT.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-a.restart:
			return errRestart
		case <-drainDone:
			return errDeliveryStopped
		case <-a.st.Failed():
			// The outbox cannot be written safely on this handle any
			// more (store.ErrFailed): exit for systemd to restart the
			// agent, whose next Open reads what the disk holds.
			return a.st.Err()
		case <-wdC:
			if err := a.healthy(time.Now()); err != nil {
				a.log.Error("not petting the watchdog", "err", err)
				continue
			}
			a.notify("WATCHDOG=1")
		case <-statusT.C:
			a.notify("STATUS=" + a.Status().statusLine())
		case r := <-a.reloadCh:
			err := a.reload(r.cfg)
			if r.done != nil {
				r.done <- err
			}
		case <-a.connected:
			a.reportRollback()
		}
	}
}

// healthy reports whether the main loops made progress within
// healthWindow before now.
func (a *Agent) healthy(now time.Time) error {
	if p := time.Unix(0, a.batch.progress.Load()); now.Sub(p) > healthWindow {
		return errors.New("batcher stuck since " + p.Format(time.RFC3339))
	}
	// A sampler the batcher is slowing on purpose (the outbox refuses
	// batches, see maxHeldReadings) is not stuck: a restart would lose
	// the held readings and mend nothing.
	if run := a.sampler(); run != nil && len(run.built) > 0 && !a.batch.pressing() {
		if p := run.sampler.Progress(); now.Sub(p) > healthWindow {
			return errors.New("sampler stuck since " + p.Format(time.RFC3339))
		}
	}
	return nil
}

func (a *Agent) watchdogInterval() time.Duration {
	if a.opts.WatchdogInterval > 0 {
		return a.opts.WatchdogInterval
	}
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		a.log.Warn("systemd watchdog settings unreadable", "err", err)
		return 0
	}
	return d / 2
}

func (a *Agent) notify(state string) {
	send := a.opts.Notify
	if send == nil {
		send = func(s string) error { _, err := daemon.SdNotify(false, s); return err }
	}
	if err := send(state); err != nil {
		a.log.Warn("systemd notification failed", "err", err)
	}
}

// flush waits until the outbox is empty, the deadline passes, or the
// connection has been down for offlineGrace. It wakes when the drainer
// takes records out of the queue and when the socket's state changes, and
// looks again.
func (a *Agent) flush(deadline time.Time) {
	a.drainer.Wake()
	end := time.NewTimer(time.Until(deadline))
	defer end.Stop()
	offline := time.NewTimer(offlineGrace)
	offline.Stop()
	defer offline.Stop()
	offlineRunning := false
	for {
		removed := a.drainer.Removed() // before Stats: no removal is missed
		if a.st.Stats().Count == 0 {
			break
		}
		st := a.sock.State() // its Changed wakes us at the next (dis)connection
		switch {
		case st.Kind == socketio.StateConnected:
			offline.Stop()
			offlineRunning = false
		case !offlineRunning:
			offline.Reset(offlineGrace)
			offlineRunning = true
		}
		select {
		case <-removed:
			continue
		case <-st.Changed:
			continue
		case <-end.C:
		case <-offline.C:
		}
		break
	}
	if n := a.st.Stats().Count; n > 0 {
		a.log.Info("outbox kept on disk for the next start", "records", n)
	} else {
		a.log.Info("outbox delivered")
	}
}

// closeConn closes the client and the store, once.
func (a *Agent) closeConn() error {
	a.closeOnce.Do(func() {
		if err := a.client.Close(); err != nil {
			a.log.Debug("closing the client", "err", err)
		}
		a.closeErr = a.st.Close()
		if a.metricsLn != nil {
			_ = a.metricsLn.Close() // Serve closed it already after Run
		}
	})
	return a.closeErr
}

// Close releases what New opened (the outbox file and its lock, the
// client) when Run will not be called. After Run it does nothing: Run
// closes everything when it returns.
func (a *Agent) Close() error {
	a.mu.Lock()
	if a.running {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.mu.Unlock()
	a.stop()
	return a.closeConn()
}
