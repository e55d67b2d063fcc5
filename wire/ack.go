package wire

import (
	"encoding/json"
	"fmt"

	"github.com/sioagent/sioagent/protocol/socketio"
)

// AckError is the error object of a negative TelemetryAck. It implements
// error.
type AckError struct {
	// Code is a short machine-readable reason, like "bad_request".
	Code string `json:"code"`
	// Message is for humans.
	Message string `json:"message,omitempty"`
	// Permanent says that sending the same batch again will fail again;
	// a transient error (false) is retried with backoff, without limit.
	Permanent bool `json:"permanent"`
}

// Error implements error.
func (e *AckError) Error() string {
	kind := "transient"
	if e.Permanent {
		kind = "permanent"
	}
	if e.Message == "" {
		return fmt.Sprintf("outbox: server refused the batch (%s): %s", kind, e.Code)
	}
	return fmt.Sprintf("outbox: server refused the batch (%s): %s: %s", kind, e.Code, e.Message)
}

// CodeBadAck is the AckError code of a telemetry ack the device cannot
// read (no argument, not an object, no "ok"). It is transient: the batch
// is kept and sent again, since losing data to a server bug is worse than
// repeating it.
const CodeBadAck = "bad_ack"

// codeUnknown is the AckError code of a refusal without an error object.
const codeUnknown = "unknown"

// UnmarshalSocketIOArgs implements socketio.ArgsUnmarshaler: it reads the
// first ack argument. A refusal ({"ok": false}) decodes without error, its
// Error set (code "unknown" when the server gave none); an ack that cannot
// be read is an *AckError with CodeBadAck.
func (a *TelemetryAck) UnmarshalSocketIOArgs(args socketio.Args) error {
	bad := func(why string) error {
		*a = TelemetryAck{}
		return &AckError{Code: CodeBadAck, Message: why}
	}
	if args.Len() == 0 {
		return bad("ack without arguments")
	}
	var raw struct {
		OK        *bool           `json:"ok"`
		Duplicate bool            `json:"duplicate"`
		Error     json.RawMessage `json:"error"`
	}
	if err := args.Decode(0, &raw); err != nil {
		return bad(fmt.Sprintf("ack is not an object: %v", err))
	}
	if raw.OK == nil {
		return bad(`ack has no "ok"`)
	}
	if *raw.OK {
		*a = TelemetryAck{OK: true, Duplicate: raw.Duplicate}
		return nil
	}
	ae := &AckError{Code: codeUnknown}
	if len(raw.Error) > 0 && string(raw.Error) != "null" {
		if err := json.Unmarshal(raw.Error, ae); err != nil {
			return bad(fmt.Sprintf(`ack "error" is not an object: %v`, err))
		}
	}
	*a = TelemetryAck{Error: ae}
	return nil
}

// CommandError is the error of a command's error ack: Code is one of the
// Code constants (or an application's own), Message is for humans. It
// implements error.
type CommandError struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

// Error implements error.
func (e *CommandError) Error() string { return e.Code + ": " + e.Message }

// Reply is the first argument of every command's ack:
//
//	{"ok": true, "result": {...}}
//	{"ok": false, "error": {"code": "bad_args", "message": "..."}}
//
// An error reply has no "result" (a zero Result is left out), and []byte
// values in Result travel as binary attachments, like any argument.
type Reply[R any] struct {
	OK     bool          `json:"ok"`
	Result R             `json:"result,omitzero"`
	Error  *CommandError `json:"error,omitempty"`
}
