"use strict";

// The telemetry event over a real socket.io connection: acks, errors,
// deduplication with the in-memory store, times.

const test = require("node:test");
const assert = require("node:assert/strict");
const { TelemetryError, MemoryDedupeStore } = require("..");
const { startServer, send, deferred, sleep } = require("./helpers/server");
const { agentPack, batch, encode, header } = require("./helpers/pack");

const DEVICE = "pi-7";

// withServer runs fn with a started server and a connected device, and
// closes both after.
async function withServer(options, fn) {
  const srv = await startServer(options);
  try {
    const device = await srv.connect({ token: "t", deviceId: DEVICE });
    await fn(srv, device);
  } finally {
    await srv.close();
  }
}

test("a batch is decoded and acked ok only after onTelemetry resolves", async () => {
  const gate = deferred();
  const calls = [];
  await withServer({ onTelemetry: (b) => { calls.push(b); return gate.promise; } }, async (srv, device) => {
    let acked = false;
    const ack = send(device, ...batch(DEVICE, 1, 3)).then((a) => { acked = true; return a; });
    while (calls.length === 0) await sleep(5);
    await sleep(100);
    assert.equal(acked, false, "acked before onTelemetry resolved");
    gate.resolve();
    assert.deepEqual(await ack, { ok: true });
    const [b] = calls;
    assert.equal(b.deviceId, DEVICE);
    assert.equal(b.seq, 1);
    assert.equal(b.records.length, 3);
    assert.equal(b.records[0].n, "pi-7:greenhouse/temperature");
    assert.equal(b.records[0].u, "Cel");
    assert.equal(b.header.contentType, "application/senml+cbor");
    assert.ok(b.receivedAt instanceof Date);
    assert.equal(b.auth, true);
  });
});

test("a rejection is a transient error ack by default, and the error's code and permanent are used", async () => {
  const errors = [
    [new Error("database down"), { code: "failed", message: "database down", permanent: false }],
    [Object.assign(new Error("full"), { code: "overloaded" }), { code: "overloaded", message: "full", permanent: false }],
    [new TelemetryError("unknown_device", "no such device", { permanent: true }), { code: "unknown_device", message: "no such device", permanent: true }],
    [Object.assign(new Error("x".repeat(2000)), { permanent: true }), { code: "failed", message: `${"x".repeat(511)}…`, permanent: true }],
  ];
  let i = 0;
  await withServer({ onTelemetry: async () => { throw errors[i][0]; } }, async (srv, device) => {
    for (; i < errors.length; i++) {
      assert.deepEqual(await send(device, ...batch(DEVICE, i + 1)), { ok: false, error: errors[i][1] });
    }
  });
});

test("a resend of a handled seq is acked duplicate without running the handler", async () => {
  let runs = 0;
  await withServer({ onTelemetry: async () => { runs++; } }, async (srv, device) => {
    const b = batch(DEVICE, 5);
    assert.deepEqual(await send(device, ...b), { ok: true });
    assert.deepEqual(await send(device, ...b), { ok: true, duplicate: true });
    // The same seq from the same device on a new connection: still a duplicate.
    const again = await srv.connect({ deviceId: DEVICE });
    assert.deepEqual(await send(again, ...batch(DEVICE, 5)), { ok: true, duplicate: true });
    assert.deepEqual(await send(device, ...batch(DEVICE, 6)), { ok: true });
    assert.equal(runs, 2);
  });
});

test("a resend while the first is still being handled is refused by the lease, transiently", async () => {
  const gate = deferred();
  let runs = 0;
  await withServer({ onTelemetry: () => { runs++; return gate.promise; } }, async (srv, device) => {
    const b = batch(DEVICE, 9);
    const first = send(device, ...b);
    while (runs === 0) await sleep(5);
    const second = await send(device, ...b);
    assert.equal(second.ok, false);
    assert.equal(second.error.code, "busy");
    assert.equal(second.error.permanent, false);
    gate.resolve();
    assert.deepEqual(await first, { ok: true });
    assert.deepEqual(await send(device, ...b), { ok: true, duplicate: true });
    assert.equal(runs, 1);
  });
});

test("a failed handler releases the lease: the resend runs it again", async () => {
  let runs = 0;
  await withServer({ onTelemetry: async () => { if (++runs === 1) throw new Error("try later"); } }, async (srv, device) => {
    const b = batch(DEVICE, 3);
    assert.equal((await send(device, ...b)).error.code, "failed");
    assert.deepEqual(await send(device, ...b), { ok: true });
    assert.equal(runs, 2);
  });
});

test("the lease is renewed while a slow handler runs beyond its TTL", async () => {
  const LEASE_TTL_MS = 300;
  const HANDLER_MS = 1200;
  let runs = 0;
  const warnings = [];
  await withServer({ leaseTtlMs: LEASE_TTL_MS, onTelemetry: async () => { runs++; await sleep(HANDLER_MS); } }, async (srv, device) => {
    srv.devices.on("warning", (w) => warnings.push(w));
    const b = batch(DEVICE, 4);
    const first = send(device, ...b);
    await sleep(LEASE_TTL_MS * 3);
    const second = await send(device, ...b);
    assert.equal(second.error && second.error.code, "busy", "the lease expired although the handler was running");
    assert.deepEqual(await first, { ok: true });
    assert.equal(runs, 1);
    assert.deepEqual(warnings, []);
  });
});

test("a lease that is never renewed (its node died) expires and the batch is handled again", async () => {
  const store = new MemoryDedupeStore();
  let runs = 0;
  const DEAD_LEASE_MS = 300;
  await withServer({ dedupe: store, onTelemetry: async () => { runs++; } }, async (srv, device) => {
    const dead = await store.acquire(DEVICE, 8, DEAD_LEASE_MS); // a node that took the lease, then died
    assert.equal(dead.status, "acquired");
    assert.equal((await send(device, ...batch(DEVICE, 8))).error.code, "busy");
    await sleep(DEAD_LEASE_MS * 1.5);
    assert.deepEqual(await send(device, ...batch(DEVICE, 8)), { ok: true });
    assert.equal(runs, 1);
  });
});

test("relative times resolve against the receive time; clock uncertain reaches the handler", async () => {
  const got = [];
  await withServer({ onTelemetry: async (b) => { got.push(b); } }, async (srv, device) => {
    const pack = agentPack(DEVICE, [
      { name: "a/v", value: 1, time: -10 },
      { name: "a/v", value: 2, time: -1.5 },
    ], { relative: true });
    const before = Date.now();
    assert.deepEqual(await send(device, header(DEVICE, 1, 2), pack), { ok: true });
    const after = Date.now();
    const [b] = got;
    const received = b.receivedAt.getTime();
    assert.ok(received >= before && received <= after);
    assert.equal(b.records[0].t, received / 1000 - 10);
    assert.equal(b.records[1].t, received / 1000 - 1.5);
    assert.equal(b.header.clock, undefined);

    const old = 1700000000;
    const uncertain = agentPack(DEVICE, [{ name: "a/v", value: 3, time: old }]);
    assert.deepEqual(await send(device, header(DEVICE, 2, 1, { clock: "uncertain", replaces: 1 }), uncertain), { ok: true });
    assert.equal(got[1].header.clock, "uncertain");
    assert.equal(got[1].header.replaces, 1);
    assert.equal(got[1].records[0].t, old);
  });
});

test("malformed batches get a permanent bad_request without running the handler", async () => {
  let runs = 0;
  await withServer({ onTelemetry: async () => { runs++; } }, async (srv, device) => {
    const [h, p] = batch(DEVICE, 1, 2);
    const cases = [
      [[null, p], /header .* not an object/],
      [[{ ...h, deviceId: "" }, p], /deviceId/],
      [[{ ...h, seq: 0 }, p], /seq/],
      [[{ ...h, seq: 1.5 }, p], /seq/],
      [[{ ...h, seq: "1" }, p], /seq/],
      [[{ ...h, count: -1 }, p], /count/],
      [[{ ...h, contentType: "application/vnd.sioagent.readings" }, p], /content type/],
      [[{ ...h, clock: 1 }, p], /clock/],
      [[{ ...h, replaces: 0 }, p], /replaces/],
      [[h, "not binary"], /not binary/],
      [[h], /not binary/],
      [[h, Buffer.from([0xff, 0x00])], /SenML: CBOR/],
      [[h, encode([new Map([[0, "a"]])])], /SenML: record 0/],
      [[{ ...h, count: 3 }, p], /count 3, the pack has 2/],
      [[{ ...h, deviceId: "pi-8" }, p], /not this connection's device/],
    ];
    for (const [args, want] of cases) {
      const ack = await device.timeout(5000).emitWithAck("telemetry", ...args);
      assert.equal(ack.ok, false, JSON.stringify(args[0]));
      assert.equal(ack.error.code, "bad_request");
      assert.equal(ack.error.permanent, true);
      assert.match(ack.error.message, want);
    }
    assert.equal(runs, 0);
  });
});

test("a telemetry event without an ack is ignored with a warning", async () => {
  let runs = 0;
  await withServer({ onTelemetry: async () => { runs++; } }, async (srv, device) => {
    const warned = new Promise((resolve) => srv.devices.once("warning", resolve));
    device.emit("telemetry", ...batch(DEVICE, 1));
    const w = await warned;
    assert.match(w.message, /without an ack/);
    assert.equal(w.deviceId, DEVICE);
    assert.equal(runs, 0);
  });
});

test("a failing dedupe store is a transient error ack", async () => {
  const broken = {
    acquire: async () => { throw new Error("connection refused"); },
    renew: async () => true,
    release: async () => true,
    complete: async () => {},
  };
  await withServer({ dedupe: broken }, async (srv, device) => {
    const ack = await send(device, ...batch(DEVICE, 1));
    assert.deepEqual(ack, { ok: false, error: { code: "failed", message: "dedupe store: connection refused", permanent: false } });
  });
});

test("a custom telemetry event name", async () => {
  await withServer({ event: "readings" }, async (srv, device) => {
    assert.deepEqual(await device.timeout(5000).emitWithAck("readings", ...batch(DEVICE, 1)), { ok: true });
  });
});
