package agent

import (
	"context"
	"errors"
	"time"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/wire"
)

// reportTimeout bounds the emit of a config:rolledback event.
const reportTimeout = time.Second

// RemoteConfig answers the remote configuration commands (config:get,
// config:apply, config:confirm) for one agent, and says what the status
// and the config:rolledback event report. Package remoteconfig implements
// it; its errors are *wire.CommandError. An agent without one
// (Options.RemoteConfig nil) answers those commands not_allowed.
//
// The agent only answers and reports: applying a change (Reload, or a new
// Agent after Restart) is the business of whoever runs the agents.
type RemoteConfig interface {
	// Get answers config:get.
	Get() (wire.ConfigGetResult, error)
	// Apply answers config:apply.
	Apply(wire.ConfigApplyArgs) (wire.ConfigApplyResult, error)
	// Confirm answers config:confirm.
	Confirm(wire.ConfigConfirmArgs) (wire.ConfigConfirmResult, error)
	// Status is the "remoteConfig" member of the agent's status.
	Status() RemoteConfigStatus
	// Unreported returns the last rollback no server has heard of yet,
	// if any: the agent sends it as config:rolledback when it connects.
	Unreported() (wire.ConfigRolledBackEvent, bool)
	// Reported records that the rollback of hash was sent.
	Reported(hash string)
}

// RemoteConfigStatus is the remote configuration part of the status.
type RemoteConfigStatus struct {
	// Enabled is [remote_config] enabled.
	Enabled bool `json:"enabled"`
	// Hash is the hash of the effective configuration (config:get).
	Hash string `json:"hash"`
	// Pending says a change awaits its confirmation until Deadline.
	Pending  bool      `json:"pending"`
	Deadline time.Time `json:"deadline,omitzero"`
	// LastRollback is the last change rolled back, nil if none.
	LastRollback *Rollback `json:"lastRollback,omitempty"`
	// OverlayError says why the stored remote change is not in effect
	// (it no longer validates against the local file, or is not allowed
	// by it), empty when it is.
	OverlayError string `json:"overlayError,omitempty"`
	// Applies, Confirms and Rollbacks (by reason, every one of
	// wire.RollbackReasons) count since the agent's process started.
	Applies   uint64            `json:"applies"`
	Confirms  uint64            `json:"confirms"`
	Rollbacks map[string]uint64 `json:"rollbacks"`
}

// Rollback is one remote change rolled back.
type Rollback struct {
	Hash     string    `json:"hash"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
	Reported bool      `json:"reported"`
}

// errNoRemote answers the remote configuration commands of an agent
// without a RemoteConfig.
var errNoRemote = &wire.CommandError{Code: wire.CodeNotAllowed, Message: "remote configuration is not available in this agent"}

func (a *Agent) cmdConfigGet(context.Context, wire.ConfigGetArgs) (wire.ConfigGetResult, error) {
	if a.opts.RemoteConfig == nil {
		return wire.ConfigGetResult{}, errNoRemote
	}
	return a.opts.RemoteConfig.Get()
}

func (a *Agent) cmdConfigApply(_ context.Context, args wire.ConfigApplyArgs) (wire.ConfigApplyResult, error) {
	if a.opts.RemoteConfig == nil {
		return wire.ConfigApplyResult{}, errNoRemote
	}
	return a.opts.RemoteConfig.Apply(args)
}

func (a *Agent) cmdConfigConfirm(_ context.Context, args wire.ConfigConfirmArgs) (wire.ConfigConfirmResult, error) {
	if a.opts.RemoteConfig == nil {
		return wire.ConfigConfirmResult{}, errNoRemote
	}
	return a.opts.RemoteConfig.Confirm(args)
}

// reportRollback sends the rollback no server has heard of yet, if any,
// as config:rolledback. It runs on the main loop when the socket
// connected; a send that fails is tried again at the next connection.
func (a *Agent) reportRollback() {
	rc := a.opts.RemoteConfig
	if rc == nil {
		return
	}
	ev, ok := rc.Unreported()
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(a.runCtx, reportTimeout)
	defer cancel()
	// OnConnect may run before the socket is done connecting (its send
	// buffer flushed), when an emit still fails.
	err := a.sock.WaitConnected(ctx)
	if err == nil {
		err = wire.ConfigRolledBack.Emit(ctx, a.sock, ev)
	}
	if err != nil {
		a.log.Info("rollback not reported yet", "hash", ev.Hash, "err", err)
		return
	}
	rc.Reported(ev.Hash)
	a.log.Info("rollback reported to the server", "hash", ev.Hash, "reason", ev.Reason)
}

// Restart makes Run return as for a stop, but quickly, for the caller to
// run a new Agent on the same outbox (with a changed configuration): it
// neither delivers the outbox (the next agent does) nor tells systemd it
// is stopping, and lets the commands running finish and answer before it
// stops them. It never blocks; calling it again does nothing.
func (a *Agent) Restart() { a.restartOnce.Do(func() { close(a.restart) }) }

// errRestart is loop's return value after Restart.
var errRestart = errors.New("agent: restarting")

// reloadReq is one reload for the main loop; done, when not nil, gets its
// outcome.
type reloadReq struct {
	cfg  *config.Config
	done chan error // buffered: the loop never waits on it
}

// errReloadReplaced is the outcome of a reload replaced by a newer one
// before the main loop applied it.
var errReloadReplaced = errors.New("agent: reload replaced by a newer one")

// ReloadSensors is Reload that waits until the sensors of cfg run, and
// returns why they do not: they could not be built (the previous ones run
// again), ctx ended, or Run is not running.
func (a *Agent) ReloadSensors(ctx context.Context, cfg *config.Config) error {
	done := make(chan error, 1)
	a.queueReload(reloadReq{cfg: cfg, done: done})
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-a.runCtx.Done():
		return ErrClosed
	}
}

// queueReload hands r to the main loop, replacing one not yet applied.
func (a *Agent) queueReload(r reloadReq) {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	select {
	case old := <-a.reloadCh: // a newer reload replaces one not yet applied
		if old.done != nil {
			old.done <- errReloadReplaced
		}
	default:
	}
	a.reloadCh <- r // never blocks: the buffer of one is empty here
}
