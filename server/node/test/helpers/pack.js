// Telemetry batches as sioagent sends them (telemetry/senml.go PackTimed):
// a SenML CBOR pack with integer labels, the base name "<deviceId>:" on the
// first record, and either absolute times (bt on the first record, each t
// relative to it, omitted when 0, rounded to the millisecond) or times
// relative to the moment the server receives the pack (no bt, negative t:
// the age in seconds).

"use strict";

const { Encoder } = require("cbor-x");

const encoder = new Encoder({ useRecords: false, mapsAsObjects: false });

// LABEL holds the RFC 8428 integer labels used here.
const LABEL = { bn: -2, bt: -3, n: 0, u: 1, v: 2, t: 6 };

const roundMillis = (s) => Math.round(s * 1000) / 1000;

// agentPack encodes readings [{name, unit, value, time}] for deviceId.
// time is seconds since the epoch, or with relative: true the (negative)
// age in seconds at the time of sending.
function agentPack(deviceId, readings, { relative = false } = {}) {
  const base = relative ? 0 : readings[0].time;
  const records = readings.map((r, i) => {
    const m = new Map();
    if (i === 0) {
      m.set(LABEL.bn, `${deviceId}:`);
      if (!relative) m.set(LABEL.bt, base);
    }
    m.set(LABEL.n, r.name);
    if (r.unit) m.set(LABEL.u, r.unit);
    m.set(LABEL.v, r.value);
    const t = roundMillis(r.time - base);
    if (t !== 0) m.set(LABEL.t, t);
    return m;
  });
  return encoder.encode(records);
}

// encode encodes any value as CBOR (for malformed packs).
function encode(value) {
  return encoder.encode(value);
}

// header is the telemetry header of a batch.
function header(deviceId, seq, count, extra = {}) {
  return { deviceId, seq, count, contentType: "application/senml+cbor", ...extra };
}

// readings returns n readings of a sine "temperature" one second apart,
// the last at endTime (seconds).
function readings(n, endTime = Date.now() / 1000) {
  return Array.from({ length: n }, (_, i) => ({
    name: "greenhouse/temperature",
    unit: "Cel",
    value: 20 + Math.round(Math.sin(i) * 100) / 100,
    time: roundMillis(endTime - (n - 1 - i)),
  }));
}

// batch returns [header, payload] of n absolute readings.
function batch(deviceId, seq, n = 3, extra = {}) {
  return [header(deviceId, seq, n, extra), agentPack(deviceId, readings(n))];
}

module.exports = { agentPack, encode, header, readings, batch };
