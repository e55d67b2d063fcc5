// The error codes this package uses. Telemetry ack codes go to the device
// (docs/OUTBOX.md: a short machine-readable word; the device logs it);
// command codes are those of CommandError, on the server only, besides the
// agent's own (docs/PROTOCOL.md, "Error codes").

"use strict";

// Telemetry acks.
const codes = Object.freeze({
  // BAD_REQUEST (permanent): the batch is malformed: header, content type,
  // payload, or a pack that does not decode.
  BAD_REQUEST: "bad_request",
  // BUSY (transient): the same (deviceId, seq) is being handled right now,
  // on this node or another; the device sends it again later.
  BUSY: "busy",
  // FAILED (transient unless the error says permanent): onTelemetry
  // rejected with an error that has no code of its own, or the dedupe
  // store failed.
  FAILED: "failed",

  // Commands (CommandError.code), besides the agent's codes.
  // OFFLINE: no socket of the device is connected, on any node.
  OFFLINE: "offline",
  // TIMEOUT: no answer within the timeout, after every retry (the agent's
  // own "timeout" answer is retried as well and ends the same way).
  TIMEOUT: "timeout",
  // BAD_ACK: the device answered something that is not a command reply.
  BAD_ACK: "bad_ack",
});

module.exports = codes;
