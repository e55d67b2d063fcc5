// SenML CBOR decoding (RFC 8428, application/senml+cbor): turns a pack
// into resolved records, with base fields applied and times made absolute.
//
// A pack is a CBOR array of maps with the RFC's integer labels:
//   bver -1, bn -2, bt -3, bu -4, bv -5, bs -6,
//   n 0, u 1, v 2, vs 3, vb 4, s 5, t 6, ut 7, vd 8.
// A base field applies to its own record and to the following ones until a
// record sets it again (RFC 8428 section 4.6). The rules follow the Go
// package protocol/senml (Decode + Resolve): unknown integer labels and text
// labels are ignored, except text labels ending in "_" (must-understand,
// section 4.4), which make the pack invalid.
//
// A resolved record is a plain object with the labels of the SenML JSON
// representation (RFC 8428 section 5):
//   {n: "pi-7:greenhouse/temperature", u: "Cel", v: 21.5, t: 1732560000.25}
// n is bn + n; u is u or bu; exactly one of v (bv + v), vs, vb and vd
// (base64url without padding, as in SenML JSON) unless the record only has
// s (bs + s); t is bt + t, in seconds since the Unix epoch: a resolved time
// below 2^28 is relative to the receive time (section 4.5.3) and is turned
// into an absolute one here; ut appears when the record has it.

"use strict";

// decode-no-eval: the decoder never generates code from its input.
const cbor = require("cbor-x/decode-no-eval");

// MEDIA_TYPE is the content type of a SenML CBOR pack.
const MEDIA_TYPE = "application/senml+cbor";
// VERSION is the highest bver understood (the RFC 8428 default).
const VERSION = 10;
// RELATIVE_TIME_LIMIT is 2^28 seconds: smaller resolved times are relative.
const RELATIVE_TIME_LIMIT = 2 ** 28;
// MAX_PACK_BYTES bounds a pack (Socket.IO's default maxHttpBufferSize is
// 1e6 bytes for the whole packet anyway).
const MAX_PACK_BYTES = 1 << 20;
// MAX_RECORDS bounds the records of one pack, MAX_LABELS the labels of one
// record, as in the Go package.
const MAX_RECORDS = 1 << 16;
const MAX_LABELS = 64;

// LABELS maps integer labels to [field, kind].
const LABELS = new Map([
  [-1, ["bver", "uint"]],
  [-2, ["bn", "string"]],
  [-3, ["bt", "number"]],
  [-4, ["bu", "string"]],
  [-5, ["bv", "number"]],
  [-6, ["bs", "number"]],
  [0, ["n", "string"]],
  [1, ["u", "string"]],
  [2, ["v", "number"]],
  [3, ["vs", "string"]],
  [4, ["vb", "boolean"]],
  [5, ["s", "number"]],
  [6, ["t", "number"]],
  [7, ["ut", "number"]],
  [8, ["vd", "bytes"]],
]);

// The decoder keeps maps as Maps (integer keys) and knows no records
// extension. cbor-x's size limits are module-wide settings (setSizeLimits),
// which a library must not change under its host application: the limits
// above are checked on the decoded values instead; the input's size is
// bounded first, so a forged length fails at the end of the input.
const decoder = new cbor.Decoder({ mapsAsObjects: false, useRecords: false });

// NAME_RE is RFC 8428 section 4.5.1: a name starts with a letter or digit
// and holds only letters, digits and "-", ":", ".", "/", "_".
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9\-:./_]*$/;

// PackError is the error of a pack that does not decode or resolve.
class PackError extends Error {
  constructor(message) {
    super(message);
    this.name = "PackError";
  }
}

// labelValue checks and converts one label's value.
function labelValue(field, kind, value, i) {
  const bad = () => new PackError(`record ${i}: label ${field} is not a ${kind}`);
  switch (kind) {
    case "string":
      if (typeof value !== "string") throw bad();
      return value;
    case "boolean":
      if (typeof value !== "boolean") throw bad();
      return value;
    case "bytes":
      if (!(value instanceof Uint8Array)) throw bad();
      return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    case "uint":
      if (typeof value === "bigint" && value >= 0n) return Number(value);
      if (!Number.isInteger(value) || value < 0) throw bad();
      return value;
    default: {
      // number: a CBOR integer (possibly a bigint beyond 2^53) or a float.
      const n = typeof value === "bigint" ? Number(value) : value;
      if (typeof n !== "number") throw bad();
      if (!Number.isFinite(n)) throw new PackError(`record ${i}: label ${field} is not finite`);
      return n;
    }
  }
}

// rawRecord turns one CBOR map into {field: value} for the known labels.
function rawRecord(map, i) {
  if (!(map instanceof Map)) throw new PackError(`record ${i} is not a map`);
  if (map.size > MAX_LABELS) throw new PackError(`record ${i} has ${map.size} labels, over ${MAX_LABELS}`);
  const rec = {};
  for (const [label, value] of map) {
    if (typeof label === "string") {
      if (label.endsWith("_")) throw new PackError(`record ${i}: unknown must-understand label ${JSON.stringify(label)}`);
      continue;
    }
    const known = LABELS.get(typeof label === "bigint" ? Number(label) : label);
    if (!known) continue;
    const [field, kind] = known;
    rec[field] = labelValue(field, kind, value, i);
  }
  return rec;
}

// base64url encodes bytes as SenML JSON does: URL alphabet, no padding.
function base64url(buf) {
  return buf.toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// resolve applies base fields (state carries them between records) to one
// raw record and validates it.
function resolve(rec, state, i, receivedAtSec) {
  if (rec.bver !== undefined && rec.bver > VERSION) throw new PackError(`record ${i}: bver ${rec.bver} is newer than ${VERSION}`);
  for (const f of ["bn", "bu"]) if (rec[f] !== undefined && rec[f] !== "") state[f] = rec[f];
  for (const f of ["bt", "bv", "bs"]) if (rec[f] !== undefined && rec[f] !== 0) state[f] = rec[f];

  const out = { n: state.bn + (rec.n || "") };
  if (!NAME_RE.test(out.n)) throw new PackError(`record ${i}: invalid name ${JSON.stringify(out.n)}`);
  const unit = rec.u || state.bu;
  if (unit) out.u = unit;

  let values = 0;
  if (rec.v !== undefined) { out.v = state.bv + rec.v; values++; }
  if (rec.vs !== undefined) { out.vs = rec.vs; values++; }
  if (rec.vb !== undefined) { out.vb = rec.vb; values++; }
  if (rec.vd !== undefined) { out.vd = base64url(rec.vd); values++; }
  if (rec.s !== undefined) out.s = state.bs + rec.s;
  if (values > 1) throw new PackError(`record ${i} (${out.n}): ${values} value fields, want one`);
  if (values === 0 && out.s === undefined) throw new PackError(`record ${i} (${out.n}): no value or sum`);

  const t = state.bt + (rec.t || 0);
  out.t = t < RELATIVE_TIME_LIMIT ? receivedAtSec + t : t;
  if (rec.ut !== undefined) {
    if (rec.ut < 0) throw new PackError(`record ${i} (${out.n}): negative update time`);
    out.ut = rec.ut;
  }
  for (const x of [out.v, out.s, out.t]) {
    if (x !== undefined && !Number.isFinite(x)) throw new PackError(`record ${i} (${out.n}): non-finite number`);
  }
  return out;
}

// decodePack decodes a SenML CBOR pack received at receivedAtMs (a
// Date.now() value: relative times are resolved against it) into resolved
// records. It throws a PackError saying what is wrong for anything that is
// not a valid pack.
function decodePack(buf, receivedAtMs = Date.now()) {
  if (!(buf instanceof Uint8Array)) throw new PackError("pack is not binary");
  if (buf.length === 0) throw new PackError("empty pack");
  if (buf.length > MAX_PACK_BYTES) throw new PackError(`pack of ${buf.length} bytes is over ${MAX_PACK_BYTES}`);
  if (!Number.isFinite(receivedAtMs)) throw new TypeError("receivedAtMs must be a finite number");
  let pack;
  try {
    pack = decoder.decode(buf);
  } catch (err) {
    throw new PackError(`CBOR: ${err.message}`);
  }
  if (!Array.isArray(pack)) throw new PackError("pack is not a CBOR array");
  if (pack.length === 0) throw new PackError("empty pack");
  if (pack.length > MAX_RECORDS) throw new PackError(`pack of ${pack.length} records is over ${MAX_RECORDS}`);
  const state = { bn: "", bu: "", bt: 0, bv: 0, bs: 0 };
  const receivedAtSec = receivedAtMs / 1000;
  return pack.map((map, i) => resolve(rawRecord(map, i), state, i, receivedAtSec));
}

// shortName strips the "<deviceId>:" base name sioagent puts in front of
// every name: "pi-7:greenhouse/temperature" -> "greenhouse/temperature".
function shortName(name, deviceId) {
  const prefix = `${deviceId}:`;
  return name.startsWith(prefix) && name.length > prefix.length ? name.slice(prefix.length) : name;
}

module.exports = {
  MEDIA_TYPE,
  VERSION,
  RELATIVE_TIME_LIMIT,
  MAX_PACK_BYTES,
  MAX_RECORDS,
  MAX_LABELS,
  PackError,
  decodePack,
  shortName,
};
