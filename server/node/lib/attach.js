// attach(): puts the sioagent wire contract on a Socket.IO server or
// namespace.

"use strict";

const { authMiddleware } = require("./auth");
const { Devices } = require("./devices");
const { DEFAULT_LEASE_TTL_MS, checkLeaseTtl } = require("./lease");
const { deviceRoom } = require("./rooms");
const { MemoryDedupeStore } = require("./stores/memory");
const { telemetryListener } = require("./telemetry");

// DEFAULT_TELEMETRY_EVENT is the telemetry event's name unless the agents
// are configured otherwise (telemetry.event).
const DEFAULT_TELEMETRY_EVENT = "telemetry";
// STORE_METHODS are what a dedupe store must have (stores/contract.js).
const STORE_METHODS = ["acquire", "renew", "release", "complete"];

// namespaceOf returns the namespace of target: a Server's main namespace
// "/", or target itself when it is a namespace.
function namespaceOf(target) {
  if (!target || typeof target !== "object") throw new TypeError("attach needs a socket.io Server or Namespace");
  if (typeof target.of === "function") return target.of("/");
  if (typeof target.use === "function" && typeof target.to === "function" && typeof target.on === "function") return target;
  throw new TypeError("attach needs a socket.io Server or Namespace");
}

// checkOptions validates attach's options and fills in the defaults.
function checkOptions(options) {
  const {
    authenticate,
    onTelemetry,
    dedupe = new MemoryDedupeStore(),
    leaseTtlMs = DEFAULT_LEASE_TTL_MS,
    event = DEFAULT_TELEMETRY_EVENT,
  } = options || {};
  if (typeof authenticate !== "function") throw new TypeError("options.authenticate(auth, handshake) is required");
  if (typeof onTelemetry !== "function") throw new TypeError("options.onTelemetry({deviceId, seq, records, header, receivedAt}) is required");
  for (const m of STORE_METHODS) {
    if (!dedupe || typeof dedupe[m] !== "function") throw new TypeError(`options.dedupe has no ${m}(): use a MemoryDedupeStore or a RedisDedupeStore`);
  }
  checkLeaseTtl(leaseTtlMs);
  if (typeof event !== "string" || event === "") throw new TypeError("options.event must be a non-empty string");
  return { authenticate, onTelemetry, dedupe, leaseTtlMs, event };
}

// attach installs, on ioOrNamespace (a socket.io Server, meaning its "/"
// namespace, or a Namespace): the CONNECT check through
// options.authenticate, the telemetry handler with deduplication through
// options.dedupe, and the device rooms of commands and presence. It
// returns the Devices of that namespace. Options:
//   authenticate(auth, handshake)  async; resolve to accept (with
//                 {deviceId} to set the device's id, or any value), throw
//                 an Error with data {code, ...} to refuse
//   onTelemetry({deviceId, seq, records, header, receivedAt, auth})
//                 async; store the batch; the device is acked {ok: true}
//                 once it resolves; a rejection is an error ack
//   dedupe        a dedupe store (default: a new MemoryDedupeStore)
//   leaseTtlMs    the lease's time to live (DEFAULT_LEASE_TTL_MS)
//   event         the telemetry event's name (DEFAULT_TELEMETRY_EVENT)
function attach(ioOrNamespace, options) {
  const nsp = namespaceOf(ioOrNamespace);
  const { authenticate, onTelemetry, dedupe, leaseTtlMs, event } = checkOptions(options);
  const devices = new Devices(nsp);
  const warn = (w) => devices.warn(w);

  nsp.use(authMiddleware(authenticate));
  nsp.on("connection", (socket) => {
    const info = socket.data.sioagent;
    if (!info || typeof info.deviceId !== "string") {
      // A recovered session whose data was lost: connect again.
      warn({ message: "a socket without a device id was disconnected", socketId: socket.id });
      socket.disconnect();
      return;
    }
    const { deviceId, auth } = info;
    socket.join(deviceRoom(deviceId));
    socket.on(event, telemetryListener({ deviceId, auth, store: dedupe, onTelemetry, leaseTtlMs, warn }));
    socket.once("disconnect", (reason) => devices.emit("disconnect", { deviceId, socket, reason }));
    devices.emit("connect", { deviceId, socket, auth });
  });
  return devices;
}

module.exports = { DEFAULT_TELEMETRY_EVENT, attach };
