package remoteconfig

import (
	"errors"
	"fmt"
	"time"

	"github.com/sioagent/sioagent/agent"
	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/wire"
)

// Session answers the remote configuration commands for one agent, the
// one the caller runs with the configuration Manager.Session returned: it
// implements agent.RemoteConfig. A change that reconnects is confirmed
// only through a later Session, one that runs it.
type Session struct {
	m *Manager
	// running is the hash of the configuration this session's agent
	// runs; rollbacks is Manager.rollbacks when it began. Both are
	// guarded by m.mu.
	running   string
	rollbacks uint64
}

var _ agent.RemoteConfig = (*Session)(nil)

// Hash returns the hash of the configuration the session's agent runs.
func (s *Session) Hash() string {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.running
}

// Running records that the session's agent now runs the configuration of
// hash: the caller reloaded its sensors with the change config:apply made
// without a new connection (Reconnects false). Only then is the change
// confirmable through the session.
func (s *Session) Running(hash string) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.running = hash
}

// RolledBack reports whether a change was rolled back since the session
// began: the caller then restarts the agent, whose new connection reports
// the rollback.
func (s *Session) RolledBack() bool {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.m.rollbacks != s.rollbacks
}

// errDisabled is the answer of every command while [remote_config] is
// not enabled.
func (s *Session) errDisabled() error {
	return &wire.CommandError{Code: wire.CodeNotAllowed, Message: fmt.Sprintf("remote configuration is disabled ([remote_config] enabled = false in %s)", s.m.opts.File)}
}

// enabled reports whether the local file enables remote changes.
func (s *Session) enabled() bool {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.m.baseCfg.RemoteConfig.Enabled
}

// Get answers config:get: the configuration in effect, secrets redacted.
func (s *Session) Get() (wire.ConfigGetResult, error) {
	if !s.enabled() {
		return wire.ConfigGetResult{}, s.errDisabled()
	}
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	js, err := m.eff.doc.JSON()
	if err != nil {
		return wire.ConfigGetResult{}, err
	}
	r := wire.ConfigGetResult{Config: js, Hash: m.eff.hash}
	if p := m.pending; p != nil {
		r.Pending, r.Deadline = true, p.deadline.UTC().Format(time.RFC3339)
	}
	return r, nil
}

// Apply answers config:apply: it validates the change as strictly as the
// local file (bad_config), checks it against [remote_config]
// (not_allowed), writes the overlay it makes (the remote changes in
// effect with this one applied, or this one alone with replace) to the
// state directory as pending and puts it in effect; the caller, told on
// Manager.Changed, applies it. Without a confirmation within
// confirm_within it is rolled back.
func (s *Session) Apply(args wire.ConfigApplyArgs) (wire.ConfigApplyResult, error) {
	if !s.enabled() {
		return wire.ConfigApplyResult{}, s.errDisabled()
	}
	within, err := confirmWithin(args.ConfirmWithin)
	if err != nil {
		return wire.ConfigApplyResult{}, err
	}
	overlay, text, err := decodeChange(args)
	if err != nil {
		return wire.ConfigApplyResult{}, err
	}
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if !args.Replace && m.overlay != "" {
		// Added to the remote changes in effect, as the change is to
		// the local file (Document.Merge).
		if err := m.baseCfg.RemoteConfig.Check(overlay); err != nil {
			return wire.ConfigApplyResult{}, configError(err)
		}
		cur, err := config.DecodeDocument("", []byte(m.overlay))
		if err != nil {
			return wire.ConfigApplyResult{}, fmt.Errorf("the remote change in effect does not decode: %w", err)
		}
		overlay = cur.Merge(overlay)
		b, err := overlay.TOML()
		if err != nil {
			return wire.ConfigApplyResult{}, &wire.CommandError{Code: wire.CodeBadConfig, Message: err.Error()}
		}
		if text = string(b); len(text) > config.MaxFileSize {
			return wire.ConfigApplyResult{}, &wire.CommandError{Code: wire.CodeBadConfig, Message: fmt.Sprintf("the remote changes in effect and this one: larger than %d bytes", config.MaxFileSize)}
		}
	}
	eff, err := m.mergeDoc(overlay)
	if err != nil {
		return wire.ConfigApplyResult{}, configError(err)
	}
	if p := m.pending; p != nil {
		return wire.ConfigApplyResult{}, &wire.CommandError{Code: wire.CodePending, Message: fmt.Sprintf("change %s is pending until %s; confirm it or wait for its rollback", p.hash, p.deadline.UTC().Format(time.RFC3339))}
	}
	if m.closed {
		return wire.ConfigApplyResult{}, &wire.CommandError{Code: wire.CodeFailed, Message: "agent stopping"}
	}
	reconnect := Reconnects(m.eff.cfg, eff.cfg)
	p := &pending{hash: eff.hash, deadline: time.Now().Add(within), previous: m.overlay, settled: make(chan struct{})}
	// The state first: a crash before the overlay is written leaves a
	// pending change whose rollback restores what is there anyway.
	m.pending = p
	if err := writeState(m.dir, m.stateLocked()); err != nil {
		m.pending = nil
		return wire.ConfigApplyResult{}, fmt.Errorf("remote configuration not applied: %w", err)
	}
	if err := writeOverlay(m.dir, text); err != nil {
		m.pending = nil
		if rerr := writeState(m.dir, m.stateLocked()); rerr != nil {
			m.log.Error("remote configuration: undoing a change not written", "err", rerr)
		}
		return wire.ConfigApplyResult{}, fmt.Errorf("remote configuration not applied: %w", err)
	}
	m.overlay, m.eff, m.overlayErr = text, eff, ""
	m.stats.Applies++
	// Not yet confirmable through this session, even without a new
	// connection: its sensors run the change only once the caller has
	// reloaded them (Running). A confirmation that came before would
	// commit a change whose sensors may not start.
	m.wg.Add(1)
	go m.watch(p, within)
	m.log.Info("remote configuration change applied, pending its confirmation", "hash", p.hash, "within", within, "reconnect", reconnect)
	m.signal()
	return wire.ConfigApplyResult{Pending: true, Hash: p.hash, Deadline: p.deadline.UTC().Format(time.RFC3339), Reconnect: reconnect}, nil
}

// confirmWithin decodes confirm_within.
func confirmWithin(s string) (time.Duration, error) {
	if s == "" {
		return 0, agent.BadArgs(`"confirm_within" (like "2m") is required`)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, agent.BadArgs(`"confirm_within": %v`, err)
	}
	if d < MinConfirmWithin || d > MaxConfirmWithin {
		return 0, agent.BadArgs(`"confirm_within" %s out of range [%s, %s]`, d, MinConfirmWithin, MaxConfirmWithin)
	}
	return d, nil
}

// decodeChange decodes config:apply's change, given as TOML or JSON, and
// returns it with the TOML text to store.
func decodeChange(args wire.ConfigApplyArgs) (*config.Document, string, error) {
	hasTOML, hasJSON := args.TOML != nil, len(args.JSON) > 0
	if hasTOML == hasJSON {
		return nil, "", agent.BadArgs(`exactly one of "toml" (a TOML document) and "json" (an object of the same tables) is required`)
	}
	if hasTOML {
		text := *args.TOML
		if len(text) > config.MaxFileSize {
			return nil, "", &wire.CommandError{Code: wire.CodeBadConfig, Message: fmt.Sprintf("toml: larger than %d bytes", config.MaxFileSize)}
		}
		doc, err := config.DecodeDocument("", []byte(text))
		if err != nil {
			return nil, "", configError(err)
		}
		return doc, text, nil
	}
	doc, err := config.DocumentFromJSON("", args.JSON)
	if err != nil {
		return nil, "", configError(err)
	}
	text, err := doc.TOML()
	if err != nil {
		return nil, "", &wire.CommandError{Code: wire.CodeBadConfig, Message: err.Error()}
	}
	if len(text) > config.MaxFileSize {
		return nil, "", &wire.CommandError{Code: wire.CodeBadConfig, Message: fmt.Sprintf("json: larger than %d bytes as TOML", config.MaxFileSize)}
	}
	return doc, string(text), nil
}

// configError is the command error of a change that does not decode or
// validate (bad_config), or sets what it may not (not_allowed); the
// message is the configuration error, "key: reason".
func configError(err error) error {
	code := wire.CodeBadConfig
	if errors.Is(err, config.ErrNotAllowed) {
		code = wire.CodeNotAllowed
	}
	return &wire.CommandError{Code: code, Message: err.Error()}
}

// Confirm answers config:confirm: the pending change of that hash is kept
// for good, if this session runs it. Confirming the change in effect again
// is answered ok.
func (s *Session) Confirm(args wire.ConfigConfirmArgs) (wire.ConfigConfirmResult, error) {
	if !s.enabled() {
		return wire.ConfigConfirmResult{}, s.errDisabled()
	}
	if args.Hash == "" {
		return wire.ConfigConfirmResult{}, agent.BadArgs(`"hash" (config:apply's) is required`)
	}
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pending
	switch {
	case p == nil && args.Hash == m.eff.hash:
		return wire.ConfigConfirmResult{Hash: args.Hash, Confirmed: true}, nil
	case p == nil:
		return wire.ConfigConfirmResult{}, &wire.CommandError{Code: wire.CodeNoPending, Message: fmt.Sprintf("no change is pending; the configuration in effect is %s", m.eff.hash)}
	case args.Hash != p.hash:
		return wire.ConfigConfirmResult{}, &wire.CommandError{Code: wire.CodeHashMismatch, Message: fmt.Sprintf("the pending change is %s", p.hash)}
	case s.running != p.hash:
		return wire.ConfigConfirmResult{}, &wire.CommandError{Code: wire.CodeHashMismatch, Message: fmt.Sprintf("this connection does not run %s yet; confirm it through the connection that does", p.hash)}
	}
	m.pending = nil
	if err := writeState(m.dir, m.stateLocked()); err != nil {
		m.pending = p // still pending: its deadline runs on
		return wire.ConfigConfirmResult{}, fmt.Errorf("confirmation not recorded: %w", err)
	}
	close(p.settled)
	m.stats.Confirms++
	m.log.Info("remote configuration change confirmed", "hash", p.hash)
	return wire.ConfigConfirmResult{Hash: p.hash, Confirmed: true}, nil
}

// Status is the "remoteConfig" member of the agent's status.
func (s *Session) Status() agent.RemoteConfigStatus { return s.m.status() }

// Unreported returns the last rollback if no server heard of it yet.
func (s *Session) Unreported() (wire.ConfigRolledBackEvent, bool) {
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last == nil || m.last.Reported {
		return wire.ConfigRolledBackEvent{}, false
	}
	return wire.ConfigRolledBackEvent{Hash: m.last.Hash, Reason: m.last.Reason}, true
}

// Reported records that the rollback of hash was sent to a server, in the
// state file too, so that a restart does not send it again.
func (s *Session) Reported(hash string) {
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last == nil || m.last.Hash != hash || m.last.Reported {
		return
	}
	m.last.Reported = true
	if err := writeState(m.dir, m.stateLocked()); err != nil {
		m.log.Warn("remote configuration: recording that the rollback was reported", "err", err)
	}
}
