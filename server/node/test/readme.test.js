"use strict";

// The "Twenty lines" example of README.md runs as printed, with a stub
// database and on a free port: a device connects, its batch is stored and
// acked, and its agent:ping answer is logged.

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { io: ioClient } = require("socket.io-client");
const { batch } = require("./helpers/pack");
const { deferred } = require("./helpers/server");

// EXAMPLE_LINES is what the README promises.
const EXAMPLE_LINES = 20;

function example() {
  const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
  const m = /## Twenty lines\n\n```js\n([\s\S]*?)```/.exec(readme);
  assert.ok(m, "README.md has no Twenty lines example");
  return m[1];
}

test("the README's example is twenty lines and works", async () => {
  const code = example();
  assert.equal(code.trimEnd().split("\n").length, EXAMPLE_LINES);
  assert.match(code, /new Server\(3000\)/);
  const stored = [];
  const logged = deferred();
  const db = {
    deviceByToken: async (token) => (token === "s3cret" ? { id: "pi-7" } : null),
    insertReadings: async (deviceId, seq, records) => { stored.push({ deviceId, seq, records }); },
  };
  const console = { log: (...args) => logged.resolve(args) };
  const run = new Function("require", "db", "console", `${code.replace("new Server(3000)", "new Server(0)")}\nreturn { io, devices };`);
  const { io } = run(require, db, console);
  try {
    await new Promise((resolve) => (io.httpServer.listening ? resolve() : io.httpServer.once("listening", resolve)));
    const url = `http://127.0.0.1:${io.httpServer.address().port}`;
    const device = ioClient(url, { transports: ["websocket"], reconnection: false, auth: { token: "s3cret", deviceId: "pi-7" } });
    device.on("agent:ping", (args, cb) => cb({ ok: true, result: { pong: true } }));
    try {
      await new Promise((resolve, reject) => { device.once("connect", resolve); device.once("connect_error", reject); });
      assert.deepEqual(await device.timeout(5000).emitWithAck("telemetry", ...batch("pi-7", 1, 2)), { ok: true });
      assert.deepEqual(await logged.promise, ["pi-7", { pong: true }]);
      assert.equal(stored.length, 1);
      assert.equal(stored[0].records.length, 2);
      const refused = ioClient(url, { transports: ["websocket"], reconnection: false, auth: { token: "nope", deviceId: "pi-7" } });
      const err = await new Promise((resolve) => refused.once("connect_error", resolve));
      refused.close();
      assert.deepEqual(err.data, { code: "bad_token" });
    } finally {
      device.close();
    }
  } finally {
    await new Promise((resolve) => io.close(() => resolve()));
  }
});
