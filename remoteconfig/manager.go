// Package remoteconfig keeps the configuration changes a server makes
// remotely (config:apply) with an automatic rollback, as a "commit
// confirmed": a change is written as an overlay of the local file in the
// agent's state directory and applied at once, and kept only if the server
// confirms it (config:confirm) through a session that runs it before its
// deadline. Otherwise, and when the agent starts with a change still
// pending (it crashed, was killed, stopped or lost power), the previous
// overlay is restored and the rollback reported. docs/CONFIG.md describes
// what a change may set and how the overlay combines with the local file.
//
// A Manager holds the configuration in effect (Effective); each Agent the
// caller runs gets a Session (the agent.RemoteConfig that answers the
// commands). The Manager never runs an agent: it tells the caller on
// Changed that the configuration in effect changed, and the caller
// reloads the sensors or restarts the agent (cmd/sioagent does).
package remoteconfig

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/sioagent/sioagent/agent"
	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/wire"
)

// Bounds of config:apply's confirm_within.
const (
	// MinConfirmWithin is the shortest confirm_within: time to reconnect
	// (a reconnection delay and a handshake) and for the server to
	// confirm.
	MinConfirmWithin = 5 * time.Second
	// MaxConfirmWithin is the longest confirm_within: a change the server
	// forgot is not left pending for longer.
	MaxConfirmWithin = time.Hour
)

// Options configure a Manager. File and Drivers are required.
type Options struct {
	// File is the local configuration file (sioagent run --config).
	File string
	// Drivers are the sensor drivers the configuration may name
	// (sensors/drivers).
	Drivers *config.Drivers
	// Getenv supplies the environment; os.Getenv when nil.
	Getenv func(string) string
	// Dir is the state directory holding the overlay and its state;
	// StateDir of the local file's configuration when empty.
	Dir string
	// Logger receives applies, confirmations and rollbacks; nothing when
	// nil.
	Logger *slog.Logger
}

// Stats counts what the Manager did since Open.
type Stats struct {
	// Applies counts the changes applied (config:apply answered ok).
	Applies uint64
	// Confirms counts the changes confirmed.
	Confirms uint64
	// Rollbacks counts the changes rolled back, by reason: every one of
	// wire.RollbackReasons is present.
	Rollbacks map[string]uint64
}

// effective is a configuration in effect: its document, parsed, and hash.
type effective struct {
	doc  *config.Document
	cfg  *config.Config
	hash string
}

// pending is a change awaiting its confirmation.
type pending struct {
	hash     string
	deadline time.Time // with a monotonic reading: the timer's
	previous string    // the overlay to go back to
	// settled is closed when the change is confirmed or rolled back,
	// which ends its deadline's goroutine.
	settled chan struct{}
}

// Manager is the remote configuration of one agent process. Its methods
// are safe for concurrent use.
type Manager struct {
	opts Options
	dir  string
	log  *slog.Logger

	changed chan struct{} // signalled (cap 1) when eff changes: see Changed
	done    chan struct{} // closed by Close
	wg      sync.WaitGroup

	mu         sync.Mutex
	base       *config.Document // the local file
	baseCfg    *config.Config   // the local file alone: [remote_config]
	overlay    string           // the overlay in effect, "" for none
	eff        effective
	pending    *pending
	last       *agent.Rollback
	overlayErr string // why the stored overlay is not in effect
	stats      Stats
	rollbacks  uint64 // every rollback, for Session.RolledBack
	closed     bool
}

// StateDir returns the state directory of cfg: $STATE_DIRECTORY (the first
// of systemd's directories) when set, else the directory of the outbox.
func StateDir(getenv func(string) string, cfg *config.Config) string {
	if dir, _, _ := strings.Cut(getenv(config.StateEnv), ":"); dir != "" {
		return dir
	}
	return filepath.Dir(cfg.Outbox.Path)
}

// Open reads the local file and, when [remote_config] enables remote
// changes, the overlay in the state directory. A change found pending
// there is rolled back now (reason wire.RollbackRestart): it was never
// confirmed. An error of the local file is returned as config.Load
// returns it; a stored overlay that no longer applies to the local file
// (not valid with it, or not allowed by it) is left aside, logged and
// shown in the status, and the local file alone is in effect.
func Open(opts Options) (*Manager, error) {
	if opts.Drivers == nil || opts.File == "" {
		return nil, errors.New("remoteconfig: Options.File and Options.Drivers are required")
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	m := &Manager{opts: opts, log: opts.Logger, changed: make(chan struct{}, 1), done: make(chan struct{}),
		stats: Stats{Rollbacks: map[string]uint64{}}}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	for _, r := range wire.RollbackReasons() {
		m.stats.Rollbacks[r] = 0
	}
	if err := m.loadBase(); err != nil {
		return nil, err
	}
	m.dir = opts.Dir
	if m.dir == "" {
		m.dir = StateDir(opts.Getenv, m.baseCfg)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.eff = effective{doc: m.base, cfg: m.baseCfg}
	m.eff.hash, _ = m.base.Hash() // the local file parsed, so it has a JSON form
	if !m.baseCfg.RemoteConfig.Enabled {
		if _, err := os.Stat(filepath.Join(m.dir, OverlayFileName)); err == nil {
			m.log.Warn("remote configuration is disabled: the stored remote change is not used", "file", filepath.Join(m.dir, OverlayFileName))
		}
		return m, nil
	}
	st, err := readState(m.dir)
	if err != nil {
		m.overlayErr = "state file unreadable: " + err.Error()
		m.log.Error("remote configuration: the stored change is not used", "err", err)
		return m, nil
	}
	m.last = st.LastRollback
	text, err := readOverlay(m.dir)
	if err != nil {
		m.overlayErr = err.Error()
		m.log.Error("remote configuration: the stored change is not used", "err", err)
		return m, nil
	}
	if st.Pending {
		// Never confirmed: the agent stopped or crashed first. Back to
		// the previous overlay, the overlay file first (see rollback).
		text = st.Previous
		m.last = &agent.Rollback{Hash: st.Hash, Reason: wire.RollbackRestart, At: time.Now()}
		m.stats.Rollbacks[wire.RollbackRestart]++
		m.rollbacks++
		if err := writeOverlay(m.dir, text); err != nil {
			m.log.Error("remote configuration: restoring the previous overlay", "err", err)
		} else if err := writeState(m.dir, m.stateLocked()); err != nil {
			m.log.Error("remote configuration: recording the rollback", "err", err)
		}
		m.log.Warn("remote configuration change rolled back: it was still pending when the agent started", "hash", st.Hash, "reason", wire.RollbackRestart)
	}
	m.useOverlayLocked(text)
	return m, nil
}

// loadBase reads and parses the local file.
func (m *Manager) loadBase() error {
	data, err := readFile(m.opts.File, config.MaxFileSize)
	if err != nil {
		if strings.Contains(err.Error(), "larger than") {
			return &config.Error{File: m.opts.File, Key: "file", Reason: fmt.Sprintf("larger than %d bytes; a configuration file must be smaller", config.MaxFileSize)}
		}
		return fmt.Errorf("read config: %w", err)
	}
	doc, err := config.DecodeDocument(m.opts.File, data)
	if err != nil {
		return err
	}
	cfg, err := doc.Parse(m.opts.Getenv, m.opts.Drivers)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.base, m.baseCfg = doc, cfg
	m.mu.Unlock()
	return nil
}

// useOverlayLocked makes text (an overlay stored in the state directory)
// the overlay in effect, or, when it does not apply to the local file,
// the local file alone (logged, shown in the status).
func (m *Manager) useOverlayLocked(text string) {
	m.overlay, m.overlayErr = "", ""
	m.eff = effective{doc: m.base, cfg: m.baseCfg}
	m.eff.hash, _ = m.base.Hash()
	if text == "" || !m.baseCfg.RemoteConfig.Enabled {
		return
	}
	eff, err := m.merge(filepath.Join(m.dir, OverlayFileName), text)
	if err != nil {
		m.overlayErr = err.Error()
		m.log.Error("remote configuration: the stored change no longer applies to the local file; using the local file alone", "err", err)
		return
	}
	m.overlay, m.eff = text, eff
}

// merge validates the overlay text (named file in errors) against the
// local file: it must decode, set only what [remote_config] allows, and
// make a valid configuration with it.
func (m *Manager) merge(file, text string) (effective, error) {
	doc, err := config.DecodeDocument(file, []byte(text))
	if err != nil {
		return effective{}, err
	}
	return m.mergeDoc(doc)
}

// mergeDoc is merge of a decoded overlay.
func (m *Manager) mergeDoc(overlay *config.Document) (effective, error) {
	if err := m.baseCfg.RemoteConfig.Check(overlay); err != nil {
		return effective{}, err
	}
	doc := m.base.Merge(overlay)
	cfg, err := doc.Parse(m.opts.Getenv, m.opts.Drivers)
	if err != nil {
		return effective{}, err
	}
	if secureURL(m.baseCfg.Server.URL) && !secureURL(cfg.Server.URL) {
		// The token, the headers and every reading would go in the clear.
		return effective{}, &config.Error{File: overlay.File(), Key: "server.url", Err: config.ErrNotAllowed,
			Reason: "the local file's server is reached over TLS (https or wss); a remote change may not move the agent to a server without it"}
	}
	hash, err := doc.Hash()
	if err != nil {
		return effective{}, err
	}
	return effective{doc: doc, cfg: cfg, hash: hash}, nil
}

// secureURL reports whether a server URL uses TLS (https or wss).
func secureURL(u string) bool {
	scheme, _, _ := strings.Cut(u, "://")
	return strings.EqualFold(scheme, "https") || strings.EqualFold(scheme, "wss")
}

// stateLocked is the state file's content now.
func (m *Manager) stateLocked() state {
	st := state{LastRollback: m.last}
	if p := m.pending; p != nil {
		st.Pending, st.Hash, st.Deadline, st.Previous = true, p.hash, p.deadline.Round(0), p.previous
	}
	return st
}

// Dir returns the state directory.
func (m *Manager) Dir() string { return m.dir }

// Effective returns the configuration in effect and its hash.
func (m *Manager) Effective() (*config.Config, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.eff.cfg, m.eff.hash
}

// Changed returns the channel that receives a value after the
// configuration in effect changed (a change applied, or rolled back): the
// caller then compares Effective with what runs, and reloads the sensors
// or restarts the agent (a restart when Reconnects says so, or after a
// rollback: Session.RolledBack). One value stands for any number of
// changes.
func (m *Manager) Changed() <-chan struct{} { return m.changed }

// signal tells Changed's reader.
func (m *Manager) signal() {
	select {
	case m.changed <- struct{}{}:
	default:
	}
}

// Session returns the configuration in effect with the Session that
// answers the remote configuration commands of the agent the caller runs
// with it.
func (m *Manager) Session() (*config.Config, *Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.eff.cfg, &Session{m: m, running: m.eff.hash, rollbacks: m.rollbacks}
}

// Reconnects reports whether going from the configuration old to next
// needs a new connection (a new Agent): anything but the sensors differs.
func Reconnects(old, next *config.Config) bool {
	a, b := *old, *next
	a.Sensors, b.Sensors, a.File, b.File = nil, nil, "", ""
	return !reflect.DeepEqual(a, b)
}

// Reload reads the local file again (SIGHUP) and puts the overlay in
// effect on it. The caller applies the sensors of Effective; other
// changes of the local file take effect at the next restart of the agent.
// A local file that no longer loads changes nothing and is returned.
func (m *Manager) Reload() error {
	if err := m.loadBase(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	aside := m.overlayErr // a stored change left aside stays aside
	m.useOverlayLocked(m.overlay)
	if m.overlayErr == "" && m.overlay == "" {
		m.overlayErr = aside
	}
	return nil
}

// Failed tells the Manager that the configuration of hash could not be
// applied (its sensors or the agent did not start with it). When that is
// the pending change it is rolled back (reason wire.RollbackFailed) and
// Failed returns true: the caller runs Effective instead.
func (m *Manager) Failed(hash string, err error) bool {
	m.mu.Lock()
	p := m.pending
	m.mu.Unlock()
	if p == nil || p.hash != hash {
		return false
	}
	return m.rollback(p, wire.RollbackFailed, err.Error())
}

// rollback restores the overlay of before p, which must still be the
// pending change, and reports whether it did. The overlay file is written
// before the state file: a crash in between leaves the change pending,
// which the next start rolls back again, never a change unconfirmed but
// recorded as settled.
func (m *Manager) rollback(p *pending, reason, why string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pending != p || m.closed {
		return false
	}
	m.pending = nil
	close(p.settled)
	m.last = &agent.Rollback{Hash: p.hash, Reason: reason, At: time.Now()}
	m.stats.Rollbacks[reason]++
	m.rollbacks++
	if err := writeOverlay(m.dir, p.previous); err != nil {
		m.log.Error("remote configuration: restoring the previous overlay (the next start rolls back again)", "err", err)
	} else if err := writeState(m.dir, m.stateLocked()); err != nil {
		m.log.Error("remote configuration: recording the rollback (the next start rolls back again)", "err", err)
	}
	m.useOverlayLocked(p.previous)
	m.log.Warn("remote configuration change rolled back", "hash", p.hash, "reason", reason, "why", why, "now", m.eff.hash)
	m.signal()
	return true
}

// watch rolls p back at its deadline, unless it is settled first or the
// Manager closed.
func (m *Manager) watch(p *pending, within time.Duration) {
	defer m.wg.Done()
	t := time.NewTimer(within)
	defer t.Stop()
	select {
	case <-t.C:
		m.rollback(p, wire.RollbackDeadline, fmt.Sprintf("not confirmed within %s", within))
	case <-p.settled:
	case <-m.done:
	}
}

// Stats returns the counters since Open.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Rollbacks = maps.Clone(m.stats.Rollbacks)
	return s
}

// status is Session.Status.
func (m *Manager) status() agent.RemoteConfigStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := agent.RemoteConfigStatus{Enabled: m.baseCfg.RemoteConfig.Enabled, Hash: m.eff.hash, OverlayError: m.overlayErr,
		Applies: m.stats.Applies, Confirms: m.stats.Confirms, Rollbacks: maps.Clone(m.stats.Rollbacks)}
	if p := m.pending; p != nil {
		s.Pending, s.Deadline = true, p.deadline.Round(0)
	}
	if m.last != nil {
		last := *m.last
		s.LastRollback = &last
	}
	return s
}

// Close stops the deadline of a pending change, which stays pending on
// disk: the next start rolls it back.
func (m *Manager) Close() {
	m.mu.Lock()
	if !m.closed {
		m.closed = true
		close(m.done)
	}
	m.mu.Unlock()
	m.wg.Wait()
}
