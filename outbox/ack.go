package outbox

import (
	"encoding/json"
	"fmt"

	"github.com/sioagent/sioagent/protocol/socketio"
)

// Header is the first argument of every telemetry event (the wire contract
// of the package documentation and docs/OUTBOX.md); the second is the batch's payload as a binary attachment.
type Header struct {
	// DeviceID is Options.DeviceID.
	DeviceID string `json:"deviceId"`
	// Seq is the store's sequence number of the record: unique and
	// increasing per device, never reused. The server dedupes on
	// (DeviceID, Seq).
	Seq uint64 `json:"seq"`
	// Count is the number of readings in the payload.
	Count int `json:"count"`
	// ContentType is the payload's media type.
	ContentType string `json:"contentType"`
	// Clock, when not empty, qualifies the payload's times (Batch.Clock):
	// ClockUncertain says some of them could not be checked against a
	// synchronised clock.
	Clock string `json:"clock,omitempty"`
	// Replaces, when not zero, is the seq of the dead letter this record
	// was requeued from (Requeue): the same readings under a new seq, so
	// that the seqs the server sees keep increasing.
	Replaces uint64 `json:"replaces,omitempty"`
}

// ClockUncertain is the Header.Clock of a batch holding readings taken
// before the device's clock was synchronised, in an earlier boot, whose
// times could not be corrected: they may be off by as long as the device
// was powered off.
const ClockUncertain = "uncertain"

// Ack is the server's acknowledgement of one telemetry event, its first ack
// argument:
//
//	{"ok": true}                     stored
//	{"ok": true, "duplicate": true}  already stored earlier (optional flag)
//	{"ok": false, "error": {"code": "...", "message": "...", "permanent": true|false}}
//
// Only "ok": true lets the drainer delete the record.
type Ack struct {
	OK bool `json:"ok"`
	// Duplicate says the server had stored this (deviceId, seq) before.
	// Servers need not send it; the drainer only counts it.
	Duplicate bool `json:"duplicate,omitempty"`
	// Error says why the server did not store the batch (OK false).
	Error *AckError `json:"error,omitempty"`
}

// AckError is the error object of a negative Ack. It implements error, and
// is what Stats.LastError holds after a rejection.
type AckError struct {
	// Code is a short machine-readable reason, like "bad_request".
	Code string `json:"code"`
	// Message is for humans.
	Message string `json:"message,omitempty"`
	// Permanent says that sending the same batch again will fail again:
	// the drainer gives it Options.MaxAttempts tries, then dead-letters it.
	// A transient error (false) is retried with backoff, without limit.
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

// CodeBadAck is the AckError code the drainer uses for an ack it cannot
// read (no argument, not an object, no "ok"). It is transient: the record
// is kept and sent again, since losing data to a server bug is worse than
// repeating it.
const CodeBadAck = "bad_ack"

// parseAck reads the first ack argument. A malformed ack gives a transient
// *AckError with CodeBadAck.
func parseAck(args socketio.Args) (Ack, error) {
	bad := func(why string) (Ack, error) {
		return Ack{}, &AckError{Code: CodeBadAck, Message: why}
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
		return Ack{OK: true, Duplicate: raw.Duplicate}, nil
	}
	ae := &AckError{Code: "unknown", Permanent: false}
	if len(raw.Error) > 0 && string(raw.Error) != "null" {
		if err := json.Unmarshal(raw.Error, ae); err != nil {
			return bad(fmt.Sprintf(`ack "error" is not an object: %v`, err))
		}
	}
	return Ack{Error: ae}, ae
}
