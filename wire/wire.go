// Package wire declares sioagent's wire contract: every event the agent
// sends and every command it answers, with the Go types of their arguments
// and acks, as socketio.TypedEvent definitions. The outbox emits Telemetry;
// the agent answers the commands; Go programs on the other side (tests,
// tools, a Go server) use the same definitions. docs/PROTOCOL.md describes
// the same contract for server authors, and a test checks that the two
// name the same events, commands, error codes and header fields.
//
// This file is the one place where an event or command name of the
// contract is written.
package wire

import (
	"encoding/json"

	"github.com/sioagent/sioagent/protocol/socketio"
)

// DefaultTelemetryEvent is the name of the telemetry event when the
// configuration (telemetry.event) does not choose another.
const DefaultTelemetryEvent = "telemetry"

// Telemetry is one batch of readings, sent with an ack: the header, then
// the readings (a SenML CBOR pack, TelemetryHeader.ContentType) as a binary
// attachment. Its name is configurable: build the definition in use with
// Telemetry.Named(name) at start.
var Telemetry = socketio.NewEvent[socketio.Pair[TelemetryHeader, []byte], TelemetryAck](DefaultTelemetryEvent)

// The built-in commands: events the server emits with an ack, the agent
// answering through it. Arguments are one JSON object, decoded strictly.
var (
	// Ping answers at once with the agent's clock and version.
	Ping = socketio.NewEvent[PingArgs, Reply[PingResult]]("agent:ping").Strict()
	// Status answers with the agent's status (the JSON of
	// `sioagent status --json`).
	Status = socketio.NewEvent[StatusArgs, Reply[json.RawMessage]]("agent:status").Strict()
	// SensorRead takes a fresh reading of one sensor; the ack's second
	// argument is its SenML pack, a binary attachment.
	SensorRead = socketio.NewEvent[SensorReadArgs, socketio.Pair[Reply[SensorReadResult], []byte]]("sensor:read").Strict()
	// GPIORead reads a declared gpio-in (level mode) or gpio-out pin.
	GPIORead = socketio.NewEvent[GPIOReadArgs, Reply[GPIOReadResult]]("gpio:read").Strict()
	// GPIOWrite sets a declared gpio-out pin.
	GPIOWrite = socketio.NewEvent[GPIOWriteArgs, Reply[GPIOWriteResult]]("gpio:write").Strict()
	// SamplingSet changes a sensor's sampling interval until the agent
	// restarts or reloads its configuration.
	SamplingSet = socketio.NewEvent[SamplingSetArgs, Reply[SamplingSetResult]]("sampling:set").Strict()
	// QueueStats answers with the outbox figures (the "outbox" member of
	// the status).
	QueueStats = socketio.NewEvent[QueueStatsArgs, Reply[json.RawMessage]]("queue:stats").Strict()
	// ConfigGet answers with the effective configuration, secrets
	// redacted, and its hash.
	ConfigGet = socketio.NewEvent[ConfigGetArgs, Reply[ConfigGetResult]]("config:get").Strict()
	// ConfigApply validates a remote change, applies it and keeps it
	// pending until ConfigConfirm, or rolls it back.
	ConfigApply = socketio.NewEvent[ConfigApplyArgs, Reply[ConfigApplyResult]]("config:apply").Strict()
	// ConfigConfirm commits the pending change.
	ConfigConfirm = socketio.NewEvent[ConfigConfirmArgs, Reply[ConfigConfirmResult]]("config:confirm").Strict()
)

// ConfigRolledBack is the event the agent sends, without an ack, on the
// first connection after it rolled a remote change back.
var ConfigRolledBack = socketio.NewEvent[ConfigRolledBackEvent, socketio.NoArgs]("config:rolledback")

// Commands returns the names of the built-in commands, in the order of
// docs/PROTOCOL.md.
func Commands() []string {
	return []string{Ping.Name(), Status.Name(), SensorRead.Name(), GPIORead.Name(), GPIOWrite.Name(), SamplingSet.Name(), QueueStats.Name(),
		ConfigGet.Name(), ConfigApply.Name(), ConfigConfirm.Name()}
}

// Error codes of command error acks (CommandError.Code).
const (
	CodeUnknownCommand = "unknown_command"
	CodeBadArgs        = "bad_args"
	CodeNotFound       = "not_found"
	CodeNotAllowed     = "not_allowed"
	CodeTimeout        = "timeout"
	CodeBusy           = "busy"
	CodeFailed         = "failed"
	// CodeBadConfig: config:apply's configuration does not decode or
	// validate; the message names the key and the reason.
	CodeBadConfig = "bad_config"
	// CodePending: config:apply while another change is pending.
	CodePending = "pending"
	// CodeNoPending: config:confirm with no change pending.
	CodeNoPending = "no_pending"
	// CodeHashMismatch: config:confirm of another hash than the pending
	// change's, or through a session that does not run it yet.
	CodeHashMismatch = "hash_mismatch"
)

// ErrorCodes returns the command error codes, in the order of
// docs/PROTOCOL.md.
func ErrorCodes() []string {
	return []string{CodeUnknownCommand, CodeBadArgs, CodeNotFound, CodeNotAllowed, CodeTimeout, CodeBusy, CodeFailed,
		CodeBadConfig, CodePending, CodeNoPending, CodeHashMismatch}
}

// ClockUncertain is the TelemetryHeader.Clock of a batch holding readings
// taken before the device's clock was synchronised, in an earlier boot,
// whose times could not be corrected: they may be off by as long as the
// device was powered off.
const ClockUncertain = "uncertain"

// TelemetryHeader is the first argument of every telemetry event.
type TelemetryHeader struct {
	// DeviceID is the device's id; the server dedupes on (DeviceID, Seq).
	DeviceID string `json:"deviceId"`
	// Seq is the outbox's sequence number of the batch: unique and
	// increasing per device, never reused.
	Seq uint64 `json:"seq"`
	// Count is the number of readings in the payload.
	Count int `json:"count"`
	// ContentType is the payload's media type: senml.MediaType.
	ContentType string `json:"contentType"`
	// Clock, when not empty, qualifies the payload's times:
	// ClockUncertain says some of them could not be checked against a
	// synchronised clock.
	Clock string `json:"clock,omitempty"`
	// Replaces, when not zero, is the seq of the dead letter this batch
	// was requeued from: the same readings under a new seq, so that the
	// seqs the server sees keep increasing.
	Replaces uint64 `json:"replaces,omitempty"`
}

// TelemetryAck is the server's acknowledgement of one telemetry event, its
// first ack argument:
//
//	{"ok": true}                     stored
//	{"ok": true, "duplicate": true}  already stored earlier (optional flag)
//	{"ok": false, "error": {"code": "...", "message": "...", "permanent": true|false}}
//
// Only "ok": true lets the device delete the batch. An ack it cannot read
// fails to decode with an *AckError of code CodeBadAck.
type TelemetryAck struct {
	OK bool `json:"ok"`
	// Duplicate says the server had stored this (deviceId, seq) before.
	// Servers need not send it; the device only counts it.
	Duplicate bool `json:"duplicate,omitempty"`
	// Error says why the server did not store the batch (OK false).
	Error *AckError `json:"error,omitempty"`
}

// CommandID is the optional "id" member of every command's arguments: a
// command whose (name, id) was answered already gets the same answer again
// without running twice.
type CommandID struct {
	ID string `json:"id,omitempty"`
}

// PingArgs are agent:ping's arguments: none but the id.
type PingArgs struct{ CommandID }

// PingResult is agent:ping's result.
type PingResult struct {
	Pong        bool   `json:"pong"`
	Time        string `json:"time"` // RFC 3339, the agent's wall clock
	ClockSynced bool   `json:"clockSynced"`
	Version     string `json:"version"`
}

// StatusArgs are agent:status's arguments: none but the id.
type StatusArgs struct{ CommandID }

// SensorReadArgs are sensor:read's arguments.
type SensorReadArgs struct {
	CommandID
	Sensor string `json:"sensor"`
}

// SensorReadResult is sensor:read's result; the pack itself is the ack's
// second argument.
type SensorReadResult struct {
	Sensor      string                 `json:"sensor"`
	Count       int                    `json:"count"`
	ContentType string                 `json:"contentType"`
	Values      map[string]SensorValue `json:"values"` // by quantity
}

// SensorValue is one quantity of a sensor:read result.
type SensorValue struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// GPIOReadArgs are gpio:read's arguments.
type GPIOReadArgs struct {
	CommandID
	Pin string `json:"pin"`
}

// GPIOReadResult is gpio:read's result.
type GPIOReadResult struct {
	Pin    string `json:"pin"`
	Sensor string `json:"sensor"`
	Value  bool   `json:"value"`
	Output bool   `json:"output"`
}

// GPIOWriteArgs are gpio:write's arguments; Value is required.
type GPIOWriteArgs struct {
	CommandID
	Pin   string `json:"pin"`
	Value *bool  `json:"value"`
}

// GPIOWriteResult is gpio:write's result: the level now set.
type GPIOWriteResult struct {
	Pin    string `json:"pin"`
	Sensor string `json:"sensor"`
	Value  bool   `json:"value"`
}

// SamplingSetArgs are sampling:set's arguments; Interval is a Go duration
// like "30s".
type SamplingSetArgs struct {
	CommandID
	Sensor   string `json:"sensor"`
	Interval string `json:"interval"`
}

// SamplingSetResult is sampling:set's result.
type SamplingSetResult struct {
	Sensor   string `json:"sensor"`
	Interval string `json:"interval"`
}

// QueueStatsArgs are queue:stats's arguments: none but the id.
type QueueStatsArgs struct{ CommandID }

// ConfigGetArgs are config:get's arguments: none but the id.
type ConfigGetArgs struct{ CommandID }

// ConfigGetResult is config:get's result.
type ConfigGetResult struct {
	// Config is the effective configuration: the local file's tables with
	// the remote change applied, as written (keys left out take their
	// defaults), the secrets replaced by "(redacted)".
	Config json.RawMessage `json:"config"`
	// Hash is the SHA-256 (hex) of Config's bytes, which are in
	// canonical form (members sorted, no white space).
	Hash string `json:"hash"`
	// Pending says Config holds a change not yet confirmed; Deadline
	// (RFC 3339) is when it is rolled back without a confirmation.
	Pending  bool   `json:"pending"`
	Deadline string `json:"deadline,omitempty"`
}

// ConfigApplyArgs are config:apply's arguments: the change as a TOML
// document (TOML) or a JSON object of the same tables (JSON), exactly one;
// ConfirmWithin, a Go duration like "2m", is how long the agent waits for
// config:confirm before it rolls the change back. The change adds to the
// remote changes in effect, unless Replace: then it replaces them all (an
// empty change goes back to the local file alone).
type ConfigApplyArgs struct {
	CommandID
	TOML          *string         `json:"toml"`
	JSON          json.RawMessage `json:"json"`
	ConfirmWithin string          `json:"confirm_within"`
	Replace       bool            `json:"replace"`
}

// ConfigApplyResult is config:apply's result: the change is running,
// pending confirmation.
type ConfigApplyResult struct {
	Pending bool `json:"pending"`
	// Hash is the new effective configuration's hash, to confirm.
	Hash string `json:"hash"`
	// Deadline (RFC 3339) is when the change is rolled back unless
	// confirmed.
	Deadline string `json:"deadline"`
	// Reconnect says the agent reconnects to apply the change (anything
	// but [[sensors]]): confirm through the new connection.
	Reconnect bool `json:"reconnect"`
}

// ConfigConfirmArgs are config:confirm's arguments: the hash config:apply
// answered.
type ConfigConfirmArgs struct {
	CommandID
	Hash string `json:"hash"`
}

// ConfigConfirmResult is config:confirm's result.
type ConfigConfirmResult struct {
	Hash      string `json:"hash"`
	Confirmed bool   `json:"confirmed"`
}

// Reasons of a rollback (ConfigRolledBackEvent.Reason).
const (
	// RollbackDeadline: no config:confirm came before the deadline (the
	// agent could not reconnect with the change, or the server did not
	// confirm it).
	RollbackDeadline = "deadline"
	// RollbackRestart: the agent started with a change still pending (it
	// crashed, was killed, stopped or lost power before the
	// confirmation).
	RollbackRestart = "restart"
	// RollbackFailed: the change could not be applied (its sensors or
	// the agent would not start with it).
	RollbackFailed = "failed"
)

// RollbackReasons returns the reasons of a rollback, in the order of
// docs/PROTOCOL.md.
func RollbackReasons() []string { return []string{RollbackDeadline, RollbackRestart, RollbackFailed} }

// ConfigRolledBackEvent is the argument of the config:rolledback event.
type ConfigRolledBackEvent struct {
	// Hash is the hash of the change that was rolled back.
	Hash string `json:"hash"`
	// Reason is one of RollbackReasons.
	Reason string `json:"reason"`
}
