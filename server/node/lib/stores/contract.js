// The dedupe store contract, which MemoryDedupeStore and RedisDedupeStore
// implement and attach() relies on. A store keeps one state per
// (deviceId, seq):
//
//   acquire(deviceId, seq, ttlMs) -> {status: "acquired", token}
//                                  | {status: "busy"}   another lease holds it
//                                  | {status: "done"}   handled already
//     takes a lease for ttlMs, atomically: of any number of concurrent
//     calls, on any node, at most one gets "acquired" while the lease lives.
//   renew(deviceId, seq, token, ttlMs) -> boolean
//     extends the lease to ttlMs from now if token still holds it.
//   release(deviceId, seq, token) -> boolean
//     drops the lease if token still holds it (the handler failed): the
//     next acquire succeeds.
//   complete(deviceId, seq, token) -> void
//     marks (deviceId, seq) done for the store's retention; acquire answers
//     "done" until the mark expires, and "acquired" after that.
//
// Every method returns a promise; a store that cannot answer rejects.

"use strict";

// DEFAULT_RETENTION_MS is how long a done-mark is kept: 7 days. A device
// that resends a batch later than that (it never got the ack, and was
// offline for longer) has it handled again.
const DEFAULT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
// MIN_RETENTION_MS is the shortest retention: 1 s (Redis keeps done-marks
// in whole seconds).
const MIN_RETENTION_MS = 1000;

// checkAcquireArgs validates the arguments of acquire.
function checkAcquireArgs(deviceId, seq, ttlMs) {
  if (typeof deviceId !== "string" || deviceId === "") throw new TypeError("deviceId must be a non-empty string");
  if (!Number.isSafeInteger(seq) || seq < 1) throw new TypeError("seq must be an integer from 1");
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) throw new TypeError("ttlMs must be an integer from 1");
}

// checkRetention validates a retentionMs option.
function checkRetention(retentionMs) {
  if (!Number.isSafeInteger(retentionMs) || retentionMs < MIN_RETENTION_MS) {
    throw new TypeError(`retentionMs must be an integer from ${MIN_RETENTION_MS}`);
  }
}

module.exports = { DEFAULT_RETENTION_MS, MIN_RETENTION_MS, checkAcquireArgs, checkRetention };
