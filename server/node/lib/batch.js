// Validation and decoding of one telemetry event (docs/PROTOCOL.md section
// 2, docs/OUTBOX.md): the header, then the payload as a SenML CBOR pack.

"use strict";

const senml = require("./senml");

// CLOCK_UNCERTAIN is the header's clock when some times of the pack could
// not be checked against a synchronised clock (wire.ClockUncertain).
const CLOCK_UNCERTAIN = "uncertain";

// BatchError is the error of a malformed batch: the device is answered
// with a permanent bad_request.
class BatchError extends Error {
  constructor(message) {
    super(message);
    this.name = "BatchError";
  }
}

// isSeq reports whether v is a valid seq: an integer from 1, exact as a
// JavaScript number.
function isSeq(v) {
  return Number.isSafeInteger(v) && v >= 1;
}

// checkHeader validates the header's members (unknown members are kept:
// newer agents may send more) and throws a BatchError naming the first bad
// one.
function checkHeader(header) {
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new BatchError("header (the first argument) is not an object");
  }
  const { deviceId, seq, count, contentType, clock, replaces } = header;
  if (typeof deviceId !== "string" || deviceId === "") throw new BatchError("header deviceId is not a non-empty string");
  if (!isSeq(seq)) throw new BatchError(`header seq ${JSON.stringify(seq)} is not an integer from 1`);
  if (!Number.isSafeInteger(count) || count < 0) throw new BatchError(`header count ${JSON.stringify(count)} is not an integer from 0`);
  if (typeof contentType !== "string") throw new BatchError("header contentType is not a string");
  if (contentType !== senml.MEDIA_TYPE) {
    throw new BatchError(`content type ${JSON.stringify(contentType)} is not ${senml.MEDIA_TYPE}`);
  }
  if (clock !== undefined && typeof clock !== "string") throw new BatchError("header clock is not a string");
  if (replaces !== undefined && !isSeq(replaces)) {
    throw new BatchError(`header replaces ${JSON.stringify(replaces)} is not an integer from 1`);
  }
}

// parseBatch validates the header and decodes the payload received at
// receivedAtMs (relative times resolve against it). It returns the decoded
// records, or throws a BatchError saying what is wrong.
function parseBatch(header, payload, receivedAtMs) {
  checkHeader(header);
  if (!Buffer.isBuffer(payload)) throw new BatchError("payload (the second argument) is not binary");
  let records;
  try {
    records = senml.decodePack(payload, receivedAtMs);
  } catch (err) {
    if (err instanceof senml.PackError) throw new BatchError(`SenML: ${err.message}`);
    throw err;
  }
  if (records.length !== header.count) {
    throw new BatchError(`header count ${header.count}, the pack has ${records.length} records`);
  }
  return records;
}

module.exports = { BatchError, CLOCK_UNCERTAIN, checkHeader, parseBatch };
