"use strict";

// The CONNECT check: authenticate(auth, handshake) accepts or refuses.

const test = require("node:test");
const assert = require("node:assert/strict");
const { ConnectError } = require("..");
const { startServer, send } = require("./helpers/server");
const { batch } = require("./helpers/pack");

// TOKENS maps tokens to their devices.
const TOKENS = new Map([["s3cret", "pi-7"]]);

async function authenticate(auth, handshake) {
  assert.ok(handshake && handshake.headers, "the handshake is passed");
  await new Promise((resolve) => setImmediate(resolve)); // async, as a database lookup
  const deviceId = TOKENS.get(auth && auth.token);
  if (!deviceId) throw new ConnectError("invalid token", { code: "bad_token" });
  return { deviceId, tenant: "acme" };
}

test("a known token is accepted; the device's id and the resolved value reach the handlers", async () => {
  const got = [];
  const srv = await startServer({ authenticate, onTelemetry: async (b) => { got.push(b); } });
  try {
    const connected = new Promise((resolve) => srv.devices.once("connect", resolve));
    const device = await srv.connect({ token: "s3cret", deviceId: "pi-7", agent: "sioagent/test" });
    const ev = await connected;
    assert.equal(ev.deviceId, "pi-7");
    assert.deepEqual(ev.auth, { deviceId: "pi-7", tenant: "acme" });
    assert.deepEqual(ev.socket.data.sioagent, { deviceId: "pi-7", auth: { deviceId: "pi-7", tenant: "acme" } });
    assert.deepEqual(await send(device, ...batch("pi-7", 1)), { ok: true });
    assert.equal(got[0].auth.tenant, "acme");
  } finally {
    await srv.close();
  }
});

test("a refusal reaches the device as CONNECT_ERROR with its data", async () => {
  const srv = await startServer({ authenticate });
  try {
    await assert.rejects(srv.connect({ token: "wrong", deviceId: "pi-7" }), (err) => {
      assert.equal(err.message, "invalid token");
      assert.deepEqual(err.data, { code: "bad_token" });
      return true;
    });
    // A plain Error with data does the same.
    const plain = await startServer({ authenticate: async () => { throw Object.assign(new Error("revoked"), { data: { code: "revoked" } }); } });
    try {
      await assert.rejects(plain.connect({ deviceId: "pi-7" }), (err) => err.message === "revoked" && err.data.code === "revoked");
    } finally {
      await plain.close();
    }
  } finally {
    await srv.close();
  }
});

test("a device claiming another id than its credential's is refused", async () => {
  const srv = await startServer({ authenticate });
  try {
    await assert.rejects(srv.connect({ token: "s3cret", deviceId: "pi-8" }), (err) => err.data && err.data.code === "bad_request");
  } finally {
    await srv.close();
  }
});

test("without a deviceId from authenticate, the auth's deviceId is used, and required", async () => {
  const srv = await startServer({ authenticate: async () => true });
  try {
    const connected = new Promise((resolve) => srv.devices.once("connect", resolve));
    await srv.connect({ deviceId: "pi-9" });
    assert.equal((await connected).deviceId, "pi-9");
    await assert.rejects(srv.connect({ token: "x" }), (err) => err.data && err.data.code === "bad_request" && /deviceId/.test(err.data.message));
    await assert.rejects(srv.connect({ deviceId: "x".repeat(129) }), (err) => err.data && err.data.code === "bad_request");
  } finally {
    await srv.close();
  }
});
