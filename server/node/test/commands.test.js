"use strict";

// devices.command() and presence against fake devices.

const test = require("node:test");
const assert = require("node:assert/strict");
const { CommandError } = require("..");
const { startServer, sleep } = require("./helpers/server");

const DEVICE = "pi-7";
// SHORT_TIMEOUT_MS is the per-attempt timeout of the tests that wait for
// timeouts.
const SHORT_TIMEOUT_MS = 200;

async function withDevice(fn) {
  const srv = await startServer();
  try {
    const device = await srv.connect({ deviceId: DEVICE });
    await fn(srv, device);
  } finally {
    await srv.close();
  }
}

const isCommandError = (code, check = () => true) => (err) => {
  assert.ok(err instanceof CommandError, `not a CommandError: ${err}`);
  assert.equal(err.code, code, err.message);
  check(err);
  return true;
};

test("a command reaches the device with an id and resolves with the agent's result", async () => {
  await withDevice(async (srv, device) => {
    const seen = [];
    device.on("gpio:write", (args, cb) => {
      seen.push(args);
      cb({ ok: true, result: { pin: args.pin, sensor: "relay", value: args.value } });
    });
    const result = await srv.devices.command(DEVICE, "gpio:write", { pin: "GPIO27", value: true });
    assert.deepEqual(result, { pin: "GPIO27", sensor: "relay", value: true });
    assert.equal(seen.length, 1);
    assert.match(seen[0].id, /^[0-9a-f-]{36}$/);
    assert.equal(seen[0].pin, "GPIO27");

    // An id of the caller's is kept, from the options or the arguments.
    await srv.devices.command(DEVICE, "gpio:write", { pin: "GPIO27", value: false }, { id: "c-1" });
    await srv.devices.command(DEVICE, "gpio:write", { id: "c-2", pin: "GPIO27", value: false });
    assert.deepEqual(seen.slice(1).map((a) => a.id), ["c-1", "c-2"]);
  });
});

test("the agent's error answer rejects with its code and message", async () => {
  await withDevice(async (srv, device) => {
    device.on("gpio:write", (args, cb) => cb({ ok: false, error: { code: "not_allowed", message: "GPIO4 is not an output" } }));
    await assert.rejects(srv.devices.command(DEVICE, "gpio:write", { pin: "GPIO4", value: true }), isCommandError("not_allowed", (err) => {
      assert.equal(err.message, "GPIO4 is not an output");
      assert.equal(err.fromAgent, true);
      assert.equal(err.deviceId, DEVICE);
      assert.equal(err.command, "gpio:write");
      assert.equal(err.attempts, 1);
    }));
  });
});

test("a timeout is retried with the same id", async () => {
  await withDevice(async (srv, device) => {
    const ids = [];
    device.on("agent:ping", (args, cb) => {
      ids.push(args.id);
      if (ids.length === 2) cb({ ok: true, result: { pong: true } }); // the first is lost
    });
    const result = await srv.devices.command(DEVICE, "agent:ping", {}, { timeout: SHORT_TIMEOUT_MS, retries: 2 });
    assert.deepEqual(result, { pong: true });
    assert.equal(ids.length, 2);
    assert.equal(ids[0], ids[1]);
  });
});

test("the agent's own timeout answer is retried too; then the real answer comes", async () => {
  await withDevice(async (srv, device) => {
    const ids = [];
    device.on("sensor:read", (args, cb) => {
      ids.push(args.id);
      cb(ids.length === 1 ? { ok: false, error: { code: "timeout", message: "still reading" } } : { ok: true, result: { sensor: "s", count: 1 } });
    });
    assert.deepEqual(await srv.devices.command(DEVICE, "sensor:read", { sensor: "s" }, { retries: 1 }), { sensor: "s", count: 1 });
    assert.equal(ids[0], ids[1]);
  });
});

test("every attempt timing out rejects with timeout", async () => {
  await withDevice(async (srv, device) => {
    let calls = 0;
    device.on("agent:status", () => { calls++; });
    const started = Date.now();
    await assert.rejects(srv.devices.command(DEVICE, "agent:status", {}, { timeout: SHORT_TIMEOUT_MS, retries: 1 }), isCommandError("timeout", (err) => {
      assert.equal(err.attempts, 2);
      assert.equal(err.fromAgent, false);
    }));
    assert.ok(Date.now() - started >= 2 * SHORT_TIMEOUT_MS - 20);
    assert.equal(calls, 2);
  });
});

test("a device that is not connected is offline at once", async () => {
  await withDevice(async (srv) => {
    const started = Date.now();
    await assert.rejects(srv.devices.command("pi-404", "agent:ping", {}, { timeout: 5000 }), isCommandError("offline"));
    assert.ok(Date.now() - started < 1000);
  });
});

test("an answer that is not a reply is bad_ack; bad arguments throw TypeError", async () => {
  await withDevice(async (srv, device) => {
    device.on("agent:ping", (args, cb) => cb("pong"));
    await assert.rejects(srv.devices.command(DEVICE, "agent:ping"), isCommandError("bad_ack"));
    await assert.rejects(srv.devices.command(DEVICE, "disconnect"), TypeError);
    await assert.rejects(srv.devices.command(DEVICE, ""), TypeError);
    await assert.rejects(srv.devices.command(DEVICE, "agent:ping", [1]), TypeError);
    await assert.rejects(srv.devices.command(DEVICE, "agent:ping", {}, { id: "x".repeat(129) }), TypeError);
    await assert.rejects(srv.devices.command(DEVICE, "agent:ping", {}, { timeout: 0 }), TypeError);
    await assert.rejects(srv.devices.command(DEVICE, "agent:ping", {}, { retries: -1 }), TypeError);
  });
});

test("presence: online(), connect and disconnect events", async () => {
  const srv = await startServer();
  try {
    const events = [];
    srv.devices.on("connect", ({ deviceId, socket }) => events.push(["connect", deviceId, socket.id]));
    srv.devices.on("disconnect", ({ deviceId, reason }) => events.push(["disconnect", deviceId, reason]));
    assert.equal(await srv.devices.online(DEVICE), false);
    const device = await srv.connect({ deviceId: DEVICE });
    assert.equal(await srv.devices.online(DEVICE), true);
    assert.equal(await srv.devices.online("pi-8"), false);
    assert.equal(srv.devices.room(DEVICE), "device:pi-7");
    const socketId = device.id;
    assert.ok(srv.io.of("/").adapter.rooms.get("device:pi-7").has(socketId));
    device.close();
    while (events.length < 2) await sleep(5);
    assert.deepEqual(events, [["connect", DEVICE, socketId], ["disconnect", DEVICE, "client namespace disconnect"]]);
    assert.equal(await srv.devices.online(DEVICE), false);
  } finally {
    await srv.close();
  }
});
