// Sending a command to a device wherever its socket is: an emit with an
// ack to the device's room, which the adapter carries to every node of
// the cluster (docs/PROTOCOL.md section 3).

"use strict";

const crypto = require("node:crypto");
const codes = require("./codes");
const { CommandError } = require("./errors");
const { deviceRoom } = require("./rooms");

// DEFAULT_COMMAND_TIMEOUT_MS is the time one attempt waits for the ack:
// longer than the agent's own command timeout (commands.timeout, 10 s by
// default), as docs/PROTOCOL.md asks, so that the agent's answer arrives.
const DEFAULT_COMMAND_TIMEOUT_MS = 15000;
// DEFAULT_COMMAND_RETRIES is how many times a timed-out command is sent
// again (with the same id, so the agent runs it once).
const DEFAULT_COMMAND_RETRIES = 1;
// MAX_COMMAND_RETRIES bounds the retries option.
const MAX_COMMAND_RETRIES = 10;
// MAX_COMMAND_ID_BYTES is the longest id the agent accepts.
const MAX_COMMAND_ID_BYTES = 128;
// RESERVED_EVENTS cannot be emitted by a Socket.IO server.
const RESERVED_EVENTS = new Set(["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]);

// checkCommand validates the arguments of command() and returns the
// arguments to emit (args with the id) and the options with defaults.
function checkCommand(deviceId, name, args, opts) {
  if (typeof deviceId !== "string" || deviceId === "") throw new TypeError("deviceId must be a non-empty string");
  if (typeof name !== "string" || name === "") throw new TypeError("the command name must be a non-empty string");
  if (RESERVED_EVENTS.has(name)) throw new TypeError(`${JSON.stringify(name)} is a reserved Socket.IO event name`);
  if (args === null || typeof args !== "object" || Array.isArray(args)) throw new TypeError("command arguments must be an object");
  const { timeout = DEFAULT_COMMAND_TIMEOUT_MS, retries = DEFAULT_COMMAND_RETRIES } = opts;
  if (!Number.isSafeInteger(timeout) || timeout < 1) throw new TypeError("timeout must be an integer number of milliseconds from 1");
  if (!Number.isSafeInteger(retries) || retries < 0 || retries > MAX_COMMAND_RETRIES) {
    throw new TypeError(`retries must be an integer from 0 to ${MAX_COMMAND_RETRIES}`);
  }
  const id = opts.id !== undefined ? opts.id : args.id !== undefined ? args.id : crypto.randomUUID();
  if (typeof id !== "string" || id === "" || Buffer.byteLength(id) > MAX_COMMAND_ID_BYTES) {
    throw new TypeError(`the command id must be a string of 1 to ${MAX_COMMAND_ID_BYTES} bytes`);
  }
  return { payload: { ...args, id }, id, timeout, retries };
}

// emitOnce sends one attempt and resolves with {replies}: the first ack
// argument of every socket that answered, [] when the room was empty
// everywhere; or {timedOut: true} when some socket did not answer in time
// and none did.
async function emitOnce(nsp, room, name, payload, timeout) {
  try {
    return { replies: await nsp.to(room).timeout(timeout).emitWithAck(name, payload) };
  } catch (err) {
    const replies = err && Array.isArray(err.responses) ? err.responses : [];
    return replies.length > 0 ? { replies } : { timedOut: true };
  }
}

// isReply reports whether v looks like a command reply:
// {ok: true, result} or {ok: false, error: {code, message}}.
function isReply(v) {
  if (!v || typeof v !== "object" || typeof v.ok !== "boolean") return false;
  return v.ok || (v.error && typeof v.error === "object" && typeof v.error.code === "string");
}

// sendCommand emits the command name with args (and an id) to the
// device's room of nsp, retrying a timeout with the same id, and resolves
// with the agent's result; it rejects with a CommandError (offline,
// timeout, bad_ack, or the agent's code), or a TypeError for bad
// arguments. opts: {timeout, retries, id}.
async function sendCommand(nsp, deviceId, name, args = {}, opts = {}) {
  const { payload, id, timeout, retries } = checkCommand(deviceId, name, args, opts);
  const room = deviceRoom(deviceId);
  const meta = (attempts, fromAgent = false) => ({ deviceId, command: name, id, attempts, fromAgent });
  let agentTimeout;
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    const { replies, timedOut } = await emitOnce(nsp, room, name, payload, timeout);
    if (timedOut) continue;
    if (replies.length === 0) throw new CommandError(codes.OFFLINE, `device ${JSON.stringify(deviceId)} is not connected`, meta(attempt));
    // Two sockets of one device answer when a stale connection lingers:
    // any proper reply will do, a success first.
    const reply = replies.find((r) => isReply(r) && r.ok) || replies.find(isReply);
    if (!reply) throw new CommandError(codes.BAD_ACK, `device ${JSON.stringify(deviceId)} answered ${name} with something that is not a reply`, meta(attempt));
    if (reply.ok) return reply.result;
    const { code, message = "" } = reply.error;
    if (code === codes.TIMEOUT) {
      agentTimeout = message;
      continue;
    }
    throw new CommandError(code, String(message), meta(attempt, true));
  }
  const attempts = retries + 1;
  if (agentTimeout !== undefined) {
    throw new CommandError(codes.TIMEOUT, `${name} (id ${id}) did not finish on the device in ${attempts} attempt(s): ${agentTimeout}`, meta(attempts, true));
  }
  throw new CommandError(codes.TIMEOUT, `no answer from device ${JSON.stringify(deviceId)} to ${name} (id ${id}) within ${timeout} ms, ${attempts} attempt(s)`, meta(attempts));
}

module.exports = { DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_COMMAND_RETRIES, MAX_COMMAND_RETRIES, MAX_COMMAND_ID_BYTES, sendCommand };
