// A real socket.io server with the package attached, on a free loopback
// port, and socket.io-client sockets as fake devices.

"use strict";

const http = require("node:http");
const { Server } = require("socket.io");
const { io: ioClient } = require("socket.io-client");
const { attach } = require("../..");

// ACK_TIMEOUT_MS is how long a fake device waits for an ack.
const ACK_TIMEOUT_MS = 5000;

// startServer starts a server attached with options (authenticate and
// onTelemetry default to accepting everything). It resolves with {io,
// devices, url, connect(auth, opts), close()}.
async function startServer(options = {}, serverOptions = {}) {
  const httpServer = http.createServer();
  const io = new Server(httpServer, serverOptions);
  const devices = attach(io, { authenticate: async () => true, onTelemetry: async () => {}, ...options });
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${httpServer.address().port}`;
  const clients = new Set();

  // connect resolves with a connected device socket, or rejects with the
  // connect_error (err.data is the refusal's data).
  function connect(auth, opts = {}) {
    const socket = ioClient(url, { transports: ["websocket"], reconnection: false, forceNew: true, auth, ...opts });
    clients.add(socket);
    return new Promise((resolve, reject) => {
      socket.once("connect", () => resolve(socket));
      socket.once("connect_error", (err) => {
        socket.close();
        reject(err);
      });
    });
  }

  async function close() {
    for (const c of clients) c.close();
    await new Promise((resolve) => io.close(() => resolve()));
  }
  return { io, devices, url, connect, close };
}

// send emits a telemetry batch and resolves with its ack.
function send(socket, header, payload, timeout = ACK_TIMEOUT_MS) {
  return socket.timeout(timeout).emitWithAck("telemetry", header, payload);
}

// deferred returns {promise, resolve, reject}.
function deferred() {
  let resolve, reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

// sleep resolves after ms.
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

module.exports = { ACK_TIMEOUT_MS, startServer, send, deferred, sleep };
