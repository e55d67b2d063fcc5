// The HTTP API and live page of the reference server (everything that is
// not under /socket.io/): lists devices, sends commands to them, shows what
// their telemetry stored, and streams stored batches as Server-Sent Events.
//
//   GET  /                               public/index.html (the live page)
//   GET  /api/devices                    connected devices (JSON array)
//   POST /api/devices/:id/commands       send a command, answer with its ack
//   GET  /api/devices/:id/telemetry      stored seqs and recent records
//   GET  /api/events                     SSE: telemetry and device events
//
// Errors are JSON: {"error": {"code": "...", "message": "..."}}.

"use strict";

const fs = require("node:fs");
const path = require("node:path");
const senml = require("./senml");

// DEFAULT_COMMAND_TIMEOUT_MS is the ack timeout of a command without
// timeoutMs; MAX_COMMAND_TIMEOUT_MS bounds timeoutMs.
const DEFAULT_COMMAND_TIMEOUT_MS = 5000;
const MAX_COMMAND_TIMEOUT_MS = 120000;
// MAX_BODY_BYTES bounds a request body.
const MAX_BODY_BYTES = 1 << 20;
// MAX_SSE_CLIENTS bounds the open /api/events streams.
const MAX_SSE_CLIENTS = 100;
// SSE_KEEPALIVE_MS is the interval of the SSE keep-alive comment.
const SSE_KEEPALIVE_MS = 15000;
// SSE_RETRY_MS is the reconnection delay the SSE stream asks browsers for.
const SSE_RETRY_MS = 2000;

// HttpError carries an HTTP status and an error code to the response.
class HttpError extends Error {
  constructor(status, code, message, headers = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

function sendJSON(res, status, value, headers = {}) {
  const body = JSON.stringify(value) + "\n";
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
    ...headers,
  });
  res.end(body);
}

function sendError(res, status, code, message, headers) {
  sendJSON(res, status, { error: { code, message } }, headers);
}

// readBody reads the request body as text, up to MAX_BODY_BYTES.
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, "too_large", `body over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

// parseCommand validates a command request body:
// {"name": "agent:ping", "args": {...}, "timeoutMs": 5000}.
function parseCommand(text) {
  let body;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, "bad_json", `body is not JSON: ${err.message}`);
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw new HttpError(400, "bad_request", 'want {"name": "...", "args": {...}, "timeoutMs": N}');
  }
  const { name, args = {}, timeoutMs = DEFAULT_COMMAND_TIMEOUT_MS } = body;
  if (typeof name !== "string" || name === "") throw new HttpError(400, "bad_request", "name must be a non-empty string");
  if (!args || typeof args !== "object" || Array.isArray(args)) throw new HttpError(400, "bad_request", "args must be a JSON object");
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_COMMAND_TIMEOUT_MS) {
    throw new HttpError(400, "bad_request", `timeoutMs must be an integer in [1, ${MAX_COMMAND_TIMEOUT_MS}]`);
  }
  return { name, args, timeoutMs };
}

// isBinary reports whether v is a Buffer or another byte array.
function isBinary(v) {
  return Buffer.isBuffer(v) || v instanceof Uint8Array || v instanceof ArrayBuffer;
}

function toBuffer(v) {
  return v instanceof ArrayBuffer ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

// ackResponse turns the device's ack arguments into the JSON answer of a
// command: every binary value, wherever it is, goes to `binary` (base64, in
// order of appearance) and is replaced by {"$binary": index}; the first
// binary value that is a SenML pack is decoded into `senml`.
function ackResponse(id, reply) {
  const buffers = [];
  const convert = (v) => {
    if (isBinary(v)) return { $binary: buffers.push(toBuffer(v)) - 1 };
    if (Array.isArray(v)) return v.map(convert);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, convert(x)]));
    return v === undefined ? null : v;
  };
  const [first, ...rest] = reply;
  const out = { id, ack: convert(first) };
  if (rest.length > 0) out.more = rest.map(convert);
  out.binary = buffers.map((b) => b.toString("base64"));
  const errors = [];
  for (const buf of buffers) {
    try {
      out.senml = senml.decodePack(buf);
      break;
    } catch (err) {
      errors.push(err.message);
    }
  }
  if (!out.senml && errors.length > 0) out.senmlError = errors.join("; ");
  return out;
}

// parseIntParam parses an optional non-negative integer query parameter.
function parseIntParam(params, name, def, max = Number.MAX_SAFE_INTEGER) {
  const raw = params.get(name);
  if (raw === null || raw === "") return def;
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < 0 || v > max) throw new HttpError(400, "bad_request", `${name} must be an integer in [0, ${max}]`);
  return v;
}

// createApi returns the request handler of the HTTP API and the function
// that publishes events to /api/events. opts:
//   devices     Map deviceId -> {socket, connectedAt}: the connected devices
//   telemetry   Map deviceId -> telemetry state (see server.js)
//   maxRecent   how many decoded records a device keeps
//   publicDir   the directory of index.html
//   log         the server's log function
function createApi({ devices, telemetry, maxRecent, publicDir, log }) {
  const sseClients = new Set();
  let commandCounter = 0;
  let keepalive;

  function deviceSummary(deviceId, entry) {
    const dev = telemetry.get(deviceId);
    const { socket, connectedAt } = entry;
    return {
      deviceId,
      socketId: socket.id,
      namespace: socket.nsp.name,
      transport: socket.conn && socket.conn.transport ? socket.conn.transport.name : null,
      connectedAt: new Date(connectedAt).toISOString(),
      stored: dev ? dev.order.length : 0,
      duplicates: dev ? dev.duplicates : 0,
      lastSeq: dev ? dev.lastSeq : null,
      records: dev ? dev.records : 0,
      decodeErrors: dev ? dev.decodeErrors : 0,
    };
  }

  function listDevices(req, res) {
    const list = [...devices].map(([id, entry]) => deviceSummary(id, entry));
    list.sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
    sendJSON(res, 200, list);
  }

  async function sendCommand(req, res, deviceId) {
    const { name, args, timeoutMs } = parseCommand(await readBody(req));
    const entry = devices.get(deviceId);
    if (!entry) throw new HttpError(404, "unknown_device", `device ${JSON.stringify(deviceId)} is not connected`);
    const cmdArgs = { ...args };
    if (cmdArgs.id === undefined) cmdArgs.id = `c-${++commandCounter}`;
    // emit with a callback rather than emitWithAck: emitWithAck resolves
    // with the first ack argument only, and sensor:read acks a binary pack
    // as its second argument.
    const result = await new Promise((resolve) => {
      try {
        entry.socket.timeout(timeoutMs).emit(name, cmdArgs, (err, ...reply) => resolve(err ? { timeout: true } : { reply }));
      } catch (err) {
        // socket.emit throws for reserved event names such as "connect".
        resolve({ error: err.message });
      }
    });
    if (result.error) throw new HttpError(400, "bad_request", `cannot emit ${JSON.stringify(name)}: ${result.error}`);
    if (result.timeout) {
      throw new HttpError(504, "timeout", `no ack from device ${JSON.stringify(deviceId)} for ${name} (id ${cmdArgs.id}) within ${timeoutMs} ms`);
    }
    log("command", deviceId, name, `id=${cmdArgs.id}`, "acked");
    sendJSON(res, 200, ackResponse(cmdArgs.id, result.reply));
  }

  // sendRaw writes {"data": "<text>"} to the device's connection as a raw
  // Engine.IO message, bypassing the Socket.IO encoder: tests use it to send
  // a device garbage and check that it reconnects and loses nothing.
  async function sendRaw(req, res, deviceId) {
    let body;
    try {
      body = JSON.parse((await readBody(req)).toString("utf8"));
    } catch {
      throw new HttpError(400, "bad_json", "body must be JSON");
    }
    if (!body || typeof body.data !== "string") throw new HttpError(400, "bad_request", 'want {"data": "<text>"}');
    const entry = devices.get(deviceId);
    if (!entry) throw new HttpError(404, "unknown_device", `device ${JSON.stringify(deviceId)} is not connected`);
    entry.socket.conn.write(body.data);
    log("raw", deviceId, JSON.stringify(body.data));
    sendJSON(res, 200, { sent: true });
  }

  function telemetryOf(req, res, deviceId, params) {
    const after = parseIntParam(params, "after", 0);
    const limit = parseIntParam(params, "limit", maxRecent, maxRecent);
    const dev = telemetry.get(deviceId);
    if (!dev && !devices.has(deviceId)) throw new HttpError(404, "unknown_device", `no device ${JSON.stringify(deviceId)}`);
    const seqs = dev ? [...dev.stored].filter((s) => s > after).sort((a, b) => a - b) : [];
    const recent = dev ? dev.recent.filter((r) => r.seq > after) : [];
    sendJSON(res, 200, {
      deviceId,
      stored: dev ? dev.order.length : 0,
      duplicates: dev ? dev.duplicates : 0,
      rejected: dev ? dev.rejected : 0,
      records: dev ? dev.records : 0,
      decodeErrors: dev ? dev.decodeErrors : 0,
      lastDecodeError: dev ? dev.lastDecodeError : null,
      lastSeq: dev ? dev.lastSeq : null,
      seqs,
      recent: limit === 0 ? [] : recent.slice(-limit),
    });
  }

  function events(req, res) {
    if (sseClients.size >= MAX_SSE_CLIENTS) throw new HttpError(503, "busy", `over ${MAX_SSE_CLIENTS} event streams`);
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    });
    res.write(`retry: ${SSE_RETRY_MS}\n\n`);
    sseClients.add(res);
    // res, not req: a request emits "close" once its (empty) body is read.
    res.on("close", () => sseClients.delete(res));
    if (!keepalive) {
      keepalive = setInterval(() => {
        for (const client of sseClients) client.write(": keep-alive\n\n");
      }, SSE_KEEPALIVE_MS);
      keepalive.unref();
    }
  }

  function page(req, res) {
    fs.readFile(path.join(publicDir, "index.html"), (err, data) => {
      if (err) {
        sendError(res, 500, "no_page", `cannot read index.html: ${err.message}`);
        return;
      }
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
      res.end(data);
    });
  }

  // route finds the handler of a method and path, or throws 404/405.
  function route(method, pathname) {
    const allow = (methods, fn) => {
      if (!methods.includes(method)) {
        throw new HttpError(405, "method_not_allowed", `${method} ${pathname}: use ${methods.join(", ")}`, {
          Allow: methods.join(", "),
        });
      }
      return fn;
    };
    if (pathname === "/" || pathname === "/index.html") return allow(["GET", "HEAD"], page);
    if (pathname === "/api/devices") return allow(["GET"], listDevices);
    if (pathname === "/api/events") return allow(["GET"], events);
    const m = /^\/api\/devices\/([^/]+)\/(commands|telemetry|raw)$/.exec(pathname);
    if (m) {
      let id;
      try {
        id = decodeURIComponent(m[1]);
      } catch {
        throw new HttpError(400, "bad_request", "malformed device id in the path");
      }
      if (m[2] === "commands") return allow(["POST"], (req, res) => sendCommand(req, res, id));
      if (m[2] === "raw") return allow(["POST"], (req, res) => sendRaw(req, res, id));
      return allow(["GET"], (req, res, params) => telemetryOf(req, res, id, params));
    }
    throw new HttpError(404, "not_found", `no such path: ${pathname}`);
  }

  // handle is the http.Server request listener (Socket.IO answers
  // /socket.io/ before it).
  async function handle(req, res) {
    try {
      const url = new URL(req.url, "http://server.invalid");
      await route(req.method, url.pathname)(req, res, url.searchParams);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        sendError(res, err.status, err.code, err.message, err.headers);
        return;
      }
      log("api error:", err && err.stack ? err.stack : String(err));
      sendError(res, 500, "internal", String(err && err.message));
    }
  }

  // publish sends one SSE event (JSON data) to every open /api/events.
  function publish(event, data) {
    if (sseClients.size === 0) return;
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const client of sseClients) client.write(text);
  }

  // close ends every event stream, so the HTTP server can close.
  function close() {
    if (keepalive) clearInterval(keepalive);
    for (const client of sseClients) client.end();
    sseClients.clear();
  }

  return { handle, publish, close };
}

module.exports = { createApi, ackResponse, DEFAULT_COMMAND_TIMEOUT_MS, MAX_COMMAND_TIMEOUT_MS };
