// The telemetry event of one device socket: validate and decode the batch,
// dedupe it on (deviceId, seq) through the store's lease, run the user's
// onTelemetry, and ack (docs/OUTBOX.md, "The ack").

"use strict";

const codes = require("./codes");
const { BatchError, parseBatch } = require("./batch");
const { errorAck, refusal } = require("./errors");
const { keepLease } = require("./lease");

// ACK_OK and ACK_DUPLICATE are the positive acks.
const ACK_OK = Object.freeze({ ok: true });
const ACK_DUPLICATE = Object.freeze({ ok: true, duplicate: true });

// handleBatch answers one batch with its ack. ctx: {deviceId, auth, store,
// onTelemetry, leaseTtlMs, warn}. It never rejects for what the device
// sent or what the handler did: those become error acks.
async function handleBatch(ctx, header, payload, receivedAtMs) {
  const { deviceId, store, leaseTtlMs } = ctx;
  let records;
  try {
    records = parseBatch(header, payload, receivedAtMs);
  } catch (err) {
    if (err instanceof BatchError) return refusal(codes.BAD_REQUEST, err.message, true);
    throw err;
  }
  if (header.deviceId !== deviceId) {
    return refusal(codes.BAD_REQUEST, `header deviceId ${JSON.stringify(header.deviceId)} is not this connection's device ${JSON.stringify(deviceId)}`, true);
  }
  const { seq } = header;
  const warn = (message, error) => ctx.warn({ message, deviceId, seq, error });

  let lease;
  try {
    lease = await store.acquire(deviceId, seq, leaseTtlMs);
  } catch (err) {
    warn("the dedupe store failed to take the lease", err);
    return refusal(codes.FAILED, `dedupe store: ${err && err.message}`, false);
  }
  if (lease.status === "done") return ACK_DUPLICATE;
  if (lease.status !== "acquired") return refusal(codes.BUSY, `seq ${seq} is being handled already; send it again later`, false);

  const stop = keepLease(store, deviceId, seq, lease.token, leaseTtlMs, warn);
  try {
    await ctx.onTelemetry({ deviceId, seq, records, header, receivedAt: new Date(receivedAtMs), auth: ctx.auth });
  } catch (err) {
    stop();
    try {
      await store.release(deviceId, seq, lease.token);
    } catch (releaseErr) {
      warn("releasing the lease failed; a resend is refused until it expires", releaseErr);
    }
    return errorAck(err);
  }
  stop();
  try {
    await store.complete(deviceId, seq, lease.token);
  } catch (err) {
    // The handler succeeded: the device is told so. Only a resend (which
    // an ok ack makes unlikely) would be handled again.
    warn("marking the seq done failed; a resend would be handled again", err);
  }
  return ACK_OK;
}

// telemetryListener returns the listener of the telemetry event for one
// socket: (header, payload, ack). A batch sent without an ack cannot be
// answered and is ignored (with a warning).
function telemetryListener(ctx) {
  return (...args) => {
    const receivedAtMs = Date.now();
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : undefined;
    if (!ack) {
      ctx.warn({ message: "a telemetry event without an ack was ignored", deviceId: ctx.deviceId });
      return;
    }
    handleBatch(ctx, args[0], args[1], receivedAtMs).then(ack, (err) => {
      ctx.warn({ message: "handling a telemetry batch failed", deviceId: ctx.deviceId, error: err });
      ack(refusal(codes.FAILED, "internal error", false));
    });
  };
}

module.exports = { handleBatch, telemetryListener };
