#!/usr/bin/env node
// Reference Socket.IO server for sioagent.
//
// It plays two roles:
//   1. the target of the Go integration tests (internal/nodeserver starts it):
//      its handlers mirror the official socket.io-client test server
//      (packages/socket.io-client/test/support/server.ts) plus a few
//      handlers for ordering, bursts and server-initiated acks, and the
//      server side of the telemetry wire contract (docs/OUTBOX.md), with
//      fault injection and statistics for the outbox tests;
//   2. the demo server of `make demo` (DEMO=1): it sends a `tick` every
//      second, prints every event it receives and one line per stored
//      telemetry batch with its decoded SenML readings.
//
// Telemetry batches are decoded as SenML CBOR (senml.js); a batch that does
// not decode is still stored and acked (the server is a reference of the
// envelope), and the failure is logged. Each device keeps its last
// MAX_RECENT_RECORDS decoded records.
//
// Besides Socket.IO (under /socket.io/), the same HTTP server answers a small
// API and a live page (api.js, public/index.html; see docs in api.js):
//   GET  /                             the live page
//   GET  /api/devices                  connected devices (auth.deviceId)
//   POST /api/devices/:id/commands     {"name", "args", "timeoutMs"} -> the ack
//   GET  /api/devices/:id/telemetry    stored seqs and recent records
//   GET  /api/events                   Server-Sent Events of stored batches
// command.js is a command-line client of the commands endpoint.
//
// Configuration (environment variables; durations in milliseconds):
//   PORT             listening port (default 3000; 0 picks a free port)
//   HOST             listening address (default 127.0.0.1)
//   PING_INTERVAL    Engine.IO pingInterval (default 25000)
//   PING_TIMEOUT     Engine.IO pingTimeout (default 20000)
//   MAX_PAYLOAD      maxHttpBufferSize in bytes (default 1e6)
//   CONNECT_TIMEOUT  time allowed for the Socket.IO CONNECT (default 45000)
//   RECOVERY=1       enable connection state recovery
//                    ({maxDisconnectionDuration: 120000, skipMiddlewares: true})
//   PER_MESSAGE_DEFLATE=1  offer WebSocket permessage-deflate (Socket.IO's
//                    perMessageDeflate: true; off by default, as in Socket.IO)
//   DEMO=1           emit `tick` every second and log every received event
//   EXIT_ON_EOF=1    exit when stdin is closed (set by the Go test helper so
//                    that a test binary that dies never leaves a server behind)
//
// Output: the first line on stdout is exactly one JSON object,
//   {"event":"listening","port":N,"url":"http://HOST:N"}
// which the tests parse. Later log lines go to stderr, except in DEMO mode,
// where they go to stdout after the listening line.
//
// The server exits with status 0 on SIGTERM or SIGINT after closing Socket.IO.

"use strict";

const crypto = require("node:crypto");
const http = require("node:http");
const path = require("node:path");
const { Server } = require("socket.io");
const senml = require("./senml");
const { createApi } = require("./api");

// ---------------------------------------------------------------------------
// Configuration

function envInt(name, def, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return def;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) {
    process.stderr.write(`invalid ${name}=${JSON.stringify(raw)}: want an integer in [${min}, ${max}]\n`);
    process.exit(2);
  }
  return v;
}

function envBool(name) {
  const raw = (process.env[name] || "").toLowerCase();
  return raw === "1" || raw === "true" || raw === "yes";
}

const config = {
  port: envInt("PORT", 3000, { max: 65535 }),
  host: process.env.HOST || "127.0.0.1",
  pingInterval: envInt("PING_INTERVAL", 25000, { min: 1 }),
  pingTimeout: envInt("PING_TIMEOUT", 20000, { min: 1 }),
  maxPayload: envInt("MAX_PAYLOAD", 1e6, { min: 1 }),
  connectTimeout: envInt("CONNECT_TIMEOUT", 45000, { min: 1 }),
  recovery: envBool("RECOVERY"),
  perMessageDeflate: envBool("PER_MESSAGE_DEFLATE"),
  demo: envBool("DEMO"),
  exitOnEOF: envBool("EXIT_ON_EOF"),
};

// How long the server waits for the client's ack in `ack` and `ask`.
const ACK_TIMEOUT_MS = 5000;
// Upper bound for `burst`, so a typo cannot make the server loop forever.
const MAX_BURST = 1000000;
// How many decoded SenML records each device keeps for the API and the page.
const MAX_RECENT_RECORDS = 1000;
// The most digests one `telemetry-digests` answer carries (about 80 bytes
// each), so that an answer stays far below any client's packet limit.
const MAX_DIGESTS = 500;
// How many config:rolledback reports each device keeps.
const MAX_ROLLBACKS = 100;

// ---------------------------------------------------------------------------
// Logging

// log writes one human-readable line. Before the listening line nothing is
// logged; afterwards lines go to stdout in DEMO mode and to stderr otherwise.
let listening = false;
function log(...parts) {
  const line = `${new Date().toISOString()} ${parts.join(" ")}\n`;
  (config.demo && listening ? process.stdout : process.stderr).write(line);
}

// describe renders event arguments for a log line: JSON, with binary values
// shown as <N bytes: hex…> and ack callbacks as (ack).
function describe(args) {
  return args
    .map((a) => {
      if (typeof a === "function") return "(ack)";
      return JSON.stringify(a, (key, value) => {
        if (value && value.type === "Buffer" && Array.isArray(value.data)) {
          const buf = Buffer.from(value.data);
          const hex = buf.subarray(0, 16).toString("hex");
          return `<${buf.length} bytes: ${hex}${buf.length > 16 ? "…" : ""}>`;
        }
        return value;
      });
    })
    .join(" ");
}

// splitAck separates a trailing ack callback from the event arguments.
function splitAck(args) {
  if (args.length > 0 && typeof args[args.length - 1] === "function") {
    return [args.slice(0, -1), args[args.length - 1]];
  }
  return [args, undefined];
}

// newAuthError builds a middleware error; the client receives
// CONNECT_ERROR {"message": message, "data": data}.
function newAuthError(message, data) {
  const err = new Error(message);
  err.data = data;
  return err;
}

// ---------------------------------------------------------------------------
// Telemetry (the wire contract of docs/PROTOCOL.md and docs/OUTBOX.md)

// telemetryDevices holds, per deviceId, what the `telemetry` handler stored.
// It lives as long as the process, not the connection, so a device that
// reconnects or restarts finds its history (the Go crash test restarts its
// client dozens of times against one server). Memory grows with the number of
// stored seqs: this is a test and demo server, not a database.
const telemetryDevices = new Map();

// telemetryDevice returns the state of deviceId, creating it:
//   stored      Set of the seqs stored (the dedupe key with deviceId)
//   order       the stored seqs in arrival order
//   duplicates  batches received again after they were stored (acked ok)
//   rejected    batches refused with {ok: false}
//   ignored     batches not acked at all (mode "silent")
//   records     the sum of `count` over stored batches
//   faults      Map seq -> {mode, times}: see `telemetry-reject`
//   lastSeq     the highest stored seq (null before the first)
//   recent      the last MAX_RECENT_RECORDS decoded SenML records, each
//               with the seq of its batch: {seq, n, u, v, t, ...}
//   decodeErrors, lastDecodeError   stored batches that are not SenML
//   digests     Map seq -> sha256 (hex) of the stored batch's bytes, so that
//               tests compare what arrived with what they enqueued
//   rollbacks   the last MAX_ROLLBACKS config:rolledback reports of the
//               device: {hash, reason, receivedAt}
function telemetryDevice(deviceId) {
  let dev = telemetryDevices.get(deviceId);
  if (!dev) {
    dev = {
      stored: new Set(), order: [], duplicates: 0, rejected: 0, ignored: 0, records: 0, faults: new Map(),
      lastSeq: null, recent: [], decodeErrors: 0, lastDecodeError: null, digests: new Map(),
      rollbacks: [],
    };
    telemetryDevices.set(deviceId, dev);
  }
  return dev;
}

// telemetryError is the ack of a refused batch.
function telemetryError(code, message, permanent) {
  return { ok: false, error: { code, message, permanent } };
}

// runs compresses seqs (in arrival order) into [first, last] pairs of
// consecutive values, so that stats for many thousands of seqs stay small.
function runs(seqs) {
  const out = [];
  for (const seq of seqs) {
    const last = out[out.length - 1];
    if (last && seq === last[1] + 1) last[1] = seq;
    else out.push([seq, seq]);
  }
  return out;
}

// decodeTelemetry decodes a stored batch as SenML CBOR, keeps its records
// in dev.recent, publishes them to /api/events and, in DEMO mode, prints one
// line for the batch. A batch that does not decode is counted and logged
// (every failure in DEMO mode; otherwise the 1st, 2nd, 4th, 8th... of a
// device, since the tests store thousands of arbitrary payloads).
function decodeTelemetry(dev, header, batch) {
  const { deviceId, seq, count, contentType } = header;
  const receivedAt = Date.now();
  let records = [];
  let error = null;
  if (contentType !== senml.MEDIA_TYPE) {
    error = `content type ${contentType} is not ${senml.MEDIA_TYPE}`;
  } else {
    try {
      records = senml.decodePack(batch, receivedAt);
    } catch (err) {
      error = err.message;
    }
  }
  if (error !== null) {
    dev.decodeErrors++;
    dev.lastDecodeError = { seq, error };
    const n = dev.decodeErrors;
    if (config.demo) {
      log(`telemetry ${deviceId} seq=${seq} count=${count} (not decoded: ${error})`);
    } else if ((n & (n - 1)) === 0) {
      log(`telemetry ${deviceId} seq=${seq}: not decoded (${n} so far): ${error}`);
    }
  } else {
    if (records.length !== count) {
      log(`telemetry ${deviceId} seq=${seq}: header count ${count}, pack has ${records.length} records`);
    }
    for (const r of records) dev.recent.push({ seq, ...r });
    if (dev.recent.length > MAX_RECENT_RECORDS) dev.recent.splice(0, dev.recent.length - MAX_RECENT_RECORDS);
    if (config.demo) log(`telemetry ${deviceId} seq=${seq} count=${count} ${senml.summarize(records, deviceId)}`);
  }
  api.publish("telemetry", {
    deviceId, seq, count, contentType, receivedAt: new Date(receivedAt).toISOString(), records, error,
  });
}

// ---------------------------------------------------------------------------
// Devices and the HTTP API

// connectedDevices maps handshake.auth.deviceId to the socket of that device
// that connected last, in any namespace: {socket, connectedAt}. The commands
// API emits to it.
const connectedDevices = new Map();

const api = createApi({
  devices: connectedDevices,
  telemetry: telemetryDevices,
  maxRecent: MAX_RECENT_RECORDS,
  publicDir: path.join(__dirname, "public"),
  log: (...parts) => log(...parts),
});

// trackDevice records a socket whose auth names a deviceId, and forgets it
// on disconnect unless a newer socket of the same device replaced it.
function trackDevice(socket) {
  const deviceId = (socket.handshake.auth || {}).deviceId;
  if (typeof deviceId !== "string" || deviceId === "") return;
  const entry = { socket, connectedAt: Date.now() };
  connectedDevices.set(deviceId, entry);
  const event = { deviceId, socketId: socket.id, namespace: socket.nsp.name };
  api.publish("device", { ...event, connected: true });
  socket.on("disconnect", (reason) => {
    if (connectedDevices.get(deviceId) === entry) connectedDevices.delete(deviceId);
    api.publish("device", { ...event, connected: false, reason });
  });
}

// ---------------------------------------------------------------------------
// Server

// Socket.IO answers /socket.io/ itself and hands every other request to
// this listener (it must be given here: a listener added after `new Server`
// would see the Socket.IO requests too).
const httpServer = http.createServer((req, res) => api.handle(req, res));
const io = new Server(httpServer, {
  pingInterval: config.pingInterval,
  pingTimeout: config.pingTimeout,
  maxHttpBufferSize: config.maxPayload,
  connectTimeout: config.connectTimeout,
  perMessageDeflate: config.perMessageDeflate,
  connectionStateRecovery: config.recovery
    ? { maxDisconnectionDuration: 120000, skipMiddlewares: true }
    : undefined,
});

// wsOffers maps an Engine.IO session upgraded to WebSocket to the
// extensions its upgrade request offered (for `ws-extensions`); an entry
// lives as long as its session.
const wsOffers = new Map();
httpServer.on("upgrade", (req) => {
  const sid = new URL(req.url, "http://x").searchParams.get("sid");
  if (sid) wsOffers.set(sid, req.headers["sec-websocket-extensions"] || "");
});
io.engine.on("connection", (conn) => conn.on("close", () => wsOffers.delete(conn.id)));

// logLifecycle logs connections, disconnections and (in DEMO mode) every
// received event of a socket in any namespace, and tracks the socket as its
// device's (trackDevice) when its auth has a deviceId.
function logLifecycle(socket) {
  const who = `[${socket.nsp.name}] ${socket.id}`;
  // The recovery pid is a session secret: never print it.
  const auth = { ...socket.handshake.auth };
  if ("pid" in auth) auth.pid = "(redacted)";
  log(who, "connected", `recovered=${socket.recovered}`, `auth=${JSON.stringify(auth)}`);
  socket.on("disconnect", (reason) => log(who, "disconnected:", reason));
  trackDevice(socket);
  if (config.demo) {
    socket.onAny((event, ...args) => {
      // Stored telemetry gets its own short line (decodeTelemetry).
      if (event !== "telemetry") log(who, "<-", event, describe(args));
      // The demo answers events nobody handles, so that `sioagent emit`
      // with an ack gets a reply. (Outside DEMO mode they are ignored, as
      // by any Socket.IO server, which lets tests exercise ack timeouts.)
      const [, ack] = splitAck(args);
      if (ack && socket.listeners(event).length === 0) ack({ ok: true });
    });
  }
}

// registerEcho installs `echo`: (...args, cb) -> cb(...args). The arguments,
// binary included, are sent back exactly as received in the ack.
function registerEcho(socket) {
  socket.on("echo", (...all) => {
    const [args, cb] = splitAck(all);
    if (cb) cb(...args);
  });
}

// askClient emits `event` with `args` to the client with an ack and a
// timeout, and resolves to the ack arguments as an array, or {error}.
function askClient(socket, event, args) {
  return new Promise((resolve) => {
    try {
      socket.timeout(ACK_TIMEOUT_MS).emit(event, ...args, (err, ...reply) => {
        resolve(err ? { error: err.message } : reply);
      });
    } catch (e) {
      // socket.emit throws for reserved event names such as "connect".
      resolve({ error: e.message });
    }
  });
}

// recordCount updates the per-socket ordering statistics used by `count`
// and `ack-count`. The first expected value is 0. socket.data survives a
// connection state recovery, so the statistics do as well.
function recordCount(socket, i) {
  const stats = socket.data.countStats;
  stats.received++;
  if (i !== stats.last + 1) stats.outOfOrder++;
  stats.last = i;
}

// --- main namespace "/" ------------------------------------------------------

// Middleware: auth {token: "bad"} is refused; any other auth passes.
io.use((socket, next) => {
  const auth = socket.handshake.auth || {};
  if (auth.token === "bad") return next(newAuthError("invalid token", { code: "bad_token" }));
  next();
});

io.on("connection", (socket) => {
  logLifecycle(socket);
  if (!socket.data.countStats) socket.data.countStats = { received: 0, outOfOrder: 0, last: -1 };
  if (!socket.data.raw) {
    const raw = { pings: 0, pongs: 0, acks: 0, messages: 0 };
    socket.data.raw = raw;
    socket.conn.on("packet", (packet) => {
      if (packet.type === "ping") raw.pings++;
      if (packet.type === "pong") raw.pongs++;
      if (packet.type === "message") {
        raw.messages++;
        if (typeof packet.data === "string" && /^[36]/.test(packet.data)) raw.acks++;
      }
    });
  }

  // An ordinary server event right after connect. Besides telling the
  // client its id, it gives the client a first offset when RECOVERY=1
  // (offsets only travel on such events), so the session can be recovered.
  socket.emit("welcome", { id: socket.id, recovered: socket.recovered });

  // echo (...args, cb) -> cb(...args)
  registerEcho(socket);

  // echo-event (...args) -> emits "echo-event" with the same arguments.
  // Never acks: an ack callback sent by the client is dropped, so a client
  // asking for an ack here will see its ack time out.
  socket.on("echo-event", (...all) => {
    const [args] = splitAck(all);
    socket.emit("echo-event", ...args);
  });

  // ack -> a server-initiated event with an ack: emits
  // "ack"(5, {test: true}, <01 02 03>) and reports what the client acked
  // with "got it"(...reply), or "got it"({error}) on timeout.
  socket.on("ack", () => {
    socket.timeout(ACK_TIMEOUT_MS).emit("ack", 5, { test: true }, Buffer.from([1, 2, 3]), (err, ...reply) => {
      socket.emit("got it", err ? { error: err.message } : reply);
    });
  });

  // ask (event, ...args, cb?) -> the generic form of `ack`: emits `event`
  // with `args` and an ack, then emits "asked" with the reply array, or
  // {error} on timeout or a bad event name. If the client asked for an ack
  // it also gets the same value as the ack argument.
  socket.on("ask", async (...all) => {
    const [[event, ...args], cb] = splitAck(all);
    const result =
      typeof event === "string" ? await askClient(socket, event, args) : { error: "event name must be a string" };
    socket.emit("asked", result);
    if (cb) cb(result);
  });

  // doge -> emits "doge" with the binary "asdfasdf".
  socket.on("doge", () => {
    socket.emit("doge", Buffer.from("asdfasdf"));
  });

  // buffa (buf) -> emits "buffack" true if buf arrived as binary.
  socket.on("buffa", (buf) => {
    socket.emit("buffack", Buffer.isBuffer(buf));
  });

  // jsonbuff ({hello: "lol", message: <binary>, goodbye: "gotcha"}) ->
  // emits "jsonbuff-ack" true if the object arrived intact.
  socket.on("jsonbuff", (obj) => {
    const { hello, message, goodbye } = obj || {};
    socket.emit("jsonbuff-ack", Buffer.isBuffer(message) && hello === "lol" && goodbye === "gotcha");
  });

  // getbin (cb?) -> emits "takebin" with nested binary values (3 attachments
  // in depth-first order); with an ack it also acks the same value
  // (a BINARY_ACK from the server).
  socket.on("getbin", (cb) => {
    const payload = () => ({
      a: Buffer.from([0xde, 0xad]),
      list: [Buffer.from([1]), "x", { deep: Buffer.from([2, 3]) }],
    });
    socket.emit("takebin", payload());
    if (typeof cb === "function") cb(payload());
  });

  // getHandshake (cb) -> cb({auth, query, headers}) of this socket.
  socket.on("getHandshake", (cb) => {
    if (typeof cb !== "function") return;
    const { auth, query, headers } = socket.handshake;
    cb({ auth, query, headers });
  });

  // disconnect-me -> the server disconnects this namespace socket
  // (the client gets DISCONNECT, reason "io server disconnect").
  socket.on("disconnect-me", () => socket.disconnect());

  // disconnect-all -> DISCONNECT for every namespace, then the server
  // closes the Engine.IO connection.
  socket.on("disconnect-all", () => socket.disconnect(true));

  // burst (n, cb?) -> emits "burst"(0) ... "burst"(n-1) as fast as
  // possible, then "burst-done"(n); acks n after that if asked.
  socket.on("burst", (n, cb) => {
    const count = Number.isInteger(n) && n > 0 ? Math.min(n, MAX_BURST) : 0;
    for (let i = 0; i < count; i++) socket.emit("burst", i);
    socket.emit("burst-done", count);
    if (typeof cb === "function") cb(count);
  });

  // flood (events, commands, cb?) -> emits "burst"(0) ... "burst"(events-1),
  // then "command"({i}) with an ack for i = 0 ... commands-1, as fast as
  // possible and without waiting for those acks; then acks
  // {events, commands}. For the client's memory bounds under a flood.
  socket.on("flood", (events, commands, cb) => {
    const clamp = (n) => (Number.isInteger(n) && n > 0 ? Math.min(n, MAX_BURST) : 0);
    const e = clamp(events);
    const c = clamp(commands);
    for (let i = 0; i < e; i++) socket.emit("burst", i);
    for (let i = 0; i < c; i++) socket.timeout(ACK_TIMEOUT_MS).emit("command", { i }, () => {});
    if (typeof cb === "function") cb({ events: e, commands: c });
  });

  // count (i) -> records {received, outOfOrder, last} for this socket:
  // a value is out of order when it is not last+1. Starts at 0.
  socket.on("count", (i) => recordCount(socket, i));

  // ack-count (i, cb) -> same recording as `count`, then cb(i).
  socket.on("ack-count", (i, cb) => {
    recordCount(socket, i);
    if (typeof cb === "function") cb(i);
  });

  // count-stats (cb) -> cb({received, outOfOrder, last}).
  socket.on("count-stats", (cb) => {
    if (typeof cb === "function") cb({ ...socket.data.countStats });
  });

  // slow-echo (ms, ...args, cb) -> cb(...args) after ms milliseconds: for
  // ack timeouts, late acks and acks pending when the link drops.
  socket.on("slow-echo", (ms, ...all) => {
    const [args, cb] = splitAck(all);
    if (typeof cb === "function") setTimeout(() => cb(...args), Number(ms) || 0);
  });

  // raw-stats (cb) -> cb({pings, pongs, acks, messages}): what the client
  // sent at the Engine.IO level on this connection. A v4 client must send
  // no ping of its own (only pongs), and exactly one ACK per acked event.
  socket.on("raw-stats", (cb) => {
    if (typeof cb === "function") cb({ ...socket.data.raw });
  });

  // ws-extensions (cb) -> cb({transport, offered, accepted}): the
  // connection's transport, the WebSocket extensions the client offered
  // (its Sec-WebSocket-Extensions header) and the ones this connection
  // uses ("permessage-deflate" when compression was negotiated); both ""
  // on long-polling.
  socket.on("ws-extensions", (cb) => {
    if (typeof cb !== "function") return;
    const transport = socket.conn.transport;
    const ws = transport.name === "websocket" ? transport.socket : null;
    // A session upgraded from polling opened with another request.
    const offered = wsOffers.has(socket.conn.id)
      ? wsOffers.get(socket.conn.id)
      : socket.conn.request.headers["sec-websocket-extensions"];
    cb({ transport: transport.name, offered: (ws && offered) || "", accepted: (ws && ws.extensions) || "" });
  });

  // send-raw (text) -> writes text as a raw Engine.IO message, bypassing
  // the Socket.IO encoder: lets tests send malformed packets to the client.
  socket.on("send-raw", (text) => socket.conn.write(String(text)));

  // stream (count, everyMs) -> emits "seq"(0) ... "seq"(count-1), one every
  // everyMs milliseconds, whether or not the client is connected at that
  // moment (with RECOVERY=1 the server keeps what a disconnected client
  // misses and replays it on recovery), then "stream-done"(count).
  socket.on("stream", (count, everyMs) => {
    const n = Number.isInteger(count) && count > 0 ? Math.min(count, MAX_BURST) : 0;
    let i = 0;
    const timer = setInterval(() => {
      if (i < n) {
        io.of("/").to(socket.id).emit("seq", i++);
        return;
      }
      clearInterval(timer);
      io.of("/").to(socket.id).emit("stream-done", n);
    }, Math.max(1, Number(everyMs) || 1));
  });

  // telemetry ({deviceId, seq, count, contentType}, batch, cb) -> the
  // device-to-server wire contract (docs/PROTOCOL.md, docs/OUTBOX.md):
  // stores the batch once per (deviceId, seq) and acks {ok: true}; a batch
  // already stored is counted as a duplicate and acked
  // {ok: true, duplicate: true}. A malformed header or a batch that is not
  // binary gets {ok: false, error: {code: "bad_request", permanent: true}}.
  // Faults set with `telemetry-reject` come first.
  socket.on("telemetry", (header, batch, cb) => {
    if (typeof cb !== "function") return;
    const { deviceId, seq, count, contentType } = header || {};
    if (
      typeof deviceId !== "string" || deviceId === "" ||
      !Number.isSafeInteger(seq) || seq < 1 ||
      !Number.isSafeInteger(count) || count < 0 ||
      typeof contentType !== "string" || !Buffer.isBuffer(batch)
    ) {
      if (config.demo) log("telemetry bad request:", describe([header, batch]));
      cb(telemetryError("bad_request", "want ({deviceId, seq, count, contentType}, <binary>)", true));
      return;
    }
    const dev = telemetryDevice(deviceId);
    const fault = dev.faults.get(seq);
    if (fault && fault.times > 0) {
      fault.times--;
      if (config.demo) log(`telemetry ${deviceId} seq=${seq} ${fault.mode === "silent" ? "ignored" : "rejected"} (${fault.mode})`);
      if (fault.mode === "silent") {
        dev.ignored++;
        return;
      }
      dev.rejected++;
      cb(telemetryError("rejected", `seq ${seq} rejected on request (${fault.mode})`, fault.mode === "permanent"));
      return;
    }
    if (dev.stored.has(seq)) {
      dev.duplicates++;
      if (config.demo) log(`telemetry ${deviceId} seq=${seq} duplicate`);
      cb({ ok: true, duplicate: true });
      return;
    }
    dev.stored.add(seq);
    dev.order.push(seq);
    dev.digests.set(seq, crypto.createHash("sha256").update(batch).digest("hex"));
    dev.records += count;
    if (dev.lastSeq === null || seq > dev.lastSeq) dev.lastSeq = seq;
    try {
      decodeTelemetry(dev, header, batch);
    } catch (err) {
      log(`telemetry ${deviceId} seq=${seq}: decoding failed:`, err && err.stack ? err.stack : String(err));
    }
    cb({ ok: true });
  });

  // telemetry-reject ({deviceId, seqs, mode, times}, cb?) -> the next
  // `times` batches (default: all) of deviceId with one of these seqs are
  // refused: mode "permanent" acks {ok: false, error: {code: "rejected",
  // permanent: true}}, "transient" the same with permanent: false, "silent"
  // sends no ack at all (the device's ack times out). Acks true.
  socket.on("telemetry-reject", (req, cb) => {
    const { deviceId, seqs, mode = "permanent", times = Number.MAX_SAFE_INTEGER } = req || {};
    const ok =
      typeof deviceId === "string" && Array.isArray(seqs) &&
      ["permanent", "transient", "silent"].includes(mode) && Number.isSafeInteger(times);
    if (ok) {
      const dev = telemetryDevice(deviceId);
      for (const seq of seqs) dev.faults.set(seq, { mode, times });
    }
    if (typeof cb === "function") cb(ok);
  });

  // telemetry-stats ({deviceId}, cb) -> cb({stored, duplicates, rejected,
  // ignored, records, runs}): runs are the stored seqs in arrival order as
  // [first, last] pairs of consecutive seqs (so [[1, 10000]] means 1, 2, ...
  // 10000 in that order).
  socket.on("telemetry-stats", (req, cb) => {
    if (typeof cb !== "function") return;
    const dev = telemetryDevice(String((req && req.deviceId) || ""));
    const { duplicates, rejected, ignored, records } = dev;
    cb({ stored: dev.order.length, duplicates, rejected, ignored, records, runs: runs(dev.order) });
  });

  // config:rolledback ({hash, reason}) -> a device (auth.deviceId) reports
  // that it rolled a remote configuration change back (docs/PROTOCOL.md);
  // kept in its record and published to /api/events. Never acked.
  socket.on("config:rolledback", (report) => {
    const deviceId = (socket.handshake.auth || {}).deviceId;
    if (typeof deviceId !== "string" || deviceId === "") return;
    const { hash, reason } = report || {};
    const entry = { hash: String(hash), reason: String(reason), receivedAt: new Date().toISOString() };
    const dev = telemetryDevice(deviceId);
    dev.rollbacks.push(entry);
    if (dev.rollbacks.length > MAX_ROLLBACKS) dev.rollbacks.shift();
    log("config rolled back", deviceId, `hash=${entry.hash}`, `reason=${entry.reason}`);
    api.publish("config:rolledback", { deviceId, ...entry });
  });

  // config-rollbacks ({deviceId}, cb) -> cb([{hash, reason, receivedAt},
  // ...]): the config:rolledback reports of deviceId, oldest first.
  socket.on("config-rollbacks", (req, cb) => {
    if (typeof cb !== "function") return;
    cb(telemetryDevice(String((req && req.deviceId) || "")).rollbacks);
  });

  // telemetry-digests ({deviceId, after, limit}, cb) -> cb([[seq, sha256],
  // ...]): the sha256 (hex) of each stored batch's bytes, for the stored seqs
  // above `after` (default 0) in increasing order, at most `limit` of them
  // (default and cap MAX_DIGESTS); page on with after = the last seq.
  socket.on("telemetry-digests", (req, cb) => {
    if (typeof cb !== "function") return;
    const { deviceId, after = 0, limit = MAX_DIGESTS } = req || {};
    const dev = telemetryDevice(String(deviceId || ""));
    const n = Number.isSafeInteger(limit) && limit > 0 ? Math.min(limit, MAX_DIGESTS) : MAX_DIGESTS;
    const seqs = [...dev.digests.keys()].filter((s) => s > after).sort((a, b) => a - b).slice(0, n);
    cb(seqs.map((s) => [s, dev.digests.get(s)]));
  });

  // doge-all -> broadcasts the binary "doge" event to every client of "/".
  socket.on("doge-all", () => io.of("/").emit("doge", Buffer.from("asdfasdf")));

  // disconnect-others -> the server disconnects every other socket of "/".
  socket.on("disconnect-others", () => {
    for (const other of io.of("/").sockets.values()) {
      if (other.id !== socket.id) other.disconnect();
    }
  });
});

// --- /custom: accepts anyone, reports the auth it received -------------------

io.of("/custom").on("connection", (socket) => {
  logLifecycle(socket);
  socket.emit("auth", socket.handshake.auth);
  registerEcho(socket);
});

// --- /no: the middleware always refuses -----------------------------------------

io.of("/no").use((socket, next) => {
  next(newAuthError("Auth failed (custom namespace)", { code: 42, reason: "always" }));
});

// --- /token: only auth {token: "s3cret"} is accepted --------------------------

const tokenNsp = io.of("/token");
tokenNsp.use((socket, next) => {
  const auth = socket.handshake.auth || {};
  if (auth.token !== "s3cret") return next(newAuthError("invalid token", { code: "bad_token" }));
  next();
});
tokenNsp.on("connection", (socket) => {
  logLifecycle(socket);
  socket.emit("auth", socket.handshake.auth);
});

// Any other namespace is refused by Socket.IO itself with
// CONNECT_ERROR {"message": "Invalid namespace"}.

// ---------------------------------------------------------------------------
// Demo ticker

let ticker;
if (config.demo) {
  let n = 0;
  ticker = setInterval(() => {
    n++;
    io.of("/").emit("tick", { n, time: new Date().toISOString() });
  }, 1000);
}

// ---------------------------------------------------------------------------
// Start and stop

let stopping = false;
function shutdown(why) {
  if (stopping) {
    // A second signal: stop at once.
    process.exit(0);
  }
  stopping = true;
  if (ticker) clearInterval(ticker);
  api.close();
  log("shutting down:", why);
  // Do not hang on a stuck connection: exit anyway after 3 s.
  setTimeout(() => process.exit(0), 3000).unref();
  io.close(() => process.exit(0));
}

process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));

if (config.exitOnEOF) {
  process.stdin.on("end", () => shutdown("stdin closed"));
  process.stdin.on("error", () => shutdown("stdin error"));
  process.stdin.resume();
}

httpServer.on("error", (err) => {
  process.stderr.write(`listen ${config.host}:${config.port}: ${err.message}\n`);
  process.exit(1);
});

httpServer.listen(config.port, config.host, () => {
  const { port } = httpServer.address();
  const hostForURL = config.host.includes(":") ? `[${config.host}]` : config.host;
  process.stdout.write(JSON.stringify({ event: "listening", port, url: `http://${hostForURL}:${port}` }) + "\n");
  listening = true;
  log(
    `socket.io listening on ${hostForURL}:${port}`,
    `pingInterval=${config.pingInterval} pingTimeout=${config.pingTimeout}`,
    `maxPayload=${config.maxPayload} connectTimeout=${config.connectTimeout}`,
    `recovery=${config.recovery} perMessageDeflate=${config.perMessageDeflate} demo=${config.demo}`
  );
});
