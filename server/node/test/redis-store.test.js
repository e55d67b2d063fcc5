"use strict";

// RedisDedupeStore against a real redis-server, through both clients
// (node-redis and ioredis), and two socket.io servers sharing one Redis as
// a cluster would.

const { describe, test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { createClient } = require("redis");
const IORedis = require("ioredis");
const { RedisDedupeStore, DEFAULT_REDIS_PREFIX } = require("..");
const { defineContract } = require("./helpers/store-contract");
const { skipReason, startRedis } = require("./helpers/redis");
const { startServer, send, deferred, sleep } = require("./helpers/server");
const { batch } = require("./helpers/pack");

const skip = skipReason();

// CLIENTS makes a connected client of each kind for a Redis URL, and
// closes it.
const CLIENTS = {
  "node-redis": {
    open: async (url) => createClient({ url }).connect(),
    close: (c) => (typeof c.close === "function" ? c.close() : c.quit()),
  },
  ioredis: {
    open: async (url) => {
      const c = new IORedis(url, { maxRetriesPerRequest: 1 });
      await new Promise((resolve, reject) => {
        c.once("ready", resolve);
        c.once("error", reject);
      });
      return c;
    },
    close: (c) => c.quit(),
  },
};

describe("RedisDedupeStore", { skip }, () => {
  let redis;
  const open = [];
  let n = 0;
  const client = async (kind) => {
    const c = await CLIENTS[kind].open(redis.url);
    open.push([kind, c]);
    return c;
  };

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const [kind, c] of open) await CLIENTS[kind].close(c);
    if (redis) await redis.stop();
  });

  for (const kind of Object.keys(CLIENTS)) {
    describe(`contract through ${kind}`, () => {
      defineContract(async () => new RedisDedupeStore(await client(kind), { prefix: `test-${++n}:` }));
    });
  }

  test("keys: a lease with the lease's TTL, a done-mark with the retention's", async () => {
    const c = await client("node-redis");
    const store = new RedisDedupeStore(c, { retentionMs: 3600 * 1000 });
    const key = `${DEFAULT_REDIS_PREFIX}pi-7:42`;
    const { token } = await store.acquire("pi-7", 42, 30000);
    assert.equal(await c.get(key), `lease:${token}`);
    const pttl = await c.pTTL(key);
    assert.ok(pttl > 29000 && pttl <= 30000, `PTTL ${pttl}`);
    await store.complete("pi-7", 42, token);
    assert.equal(await c.get(key), "done");
    const ttl = await c.ttl(key);
    assert.ok(ttl > 3590 && ttl <= 3600, `TTL ${ttl}`);
  });

  test("a done-mark older than the retention is gone: a resend is handled again", async () => {
    const store = new RedisDedupeStore(await client("ioredis"), { prefix: `test-${++n}:`, retentionMs: 1000 });
    const { token } = await store.acquire("d", 1, 30000);
    await store.complete("d", 1, token);
    assert.deepEqual(await store.acquire("d", 1, 30000), { status: "done" });
    await sleep(1100);
    assert.equal((await store.acquire("d", 1, 30000)).status, "acquired");
  });

  test("a client of neither kind is refused", () => {
    assert.throws(() => new RedisDedupeStore({}), TypeError);
    assert.throws(() => new RedisDedupeStore(null), TypeError);
  });

  test("two nodes sharing the store handle a seq once: the other refuses the resend, then acks it duplicate", async () => {
    const prefix = `test-${++n}:`;
    const gate = deferred();
    let runs = 0;
    const onTelemetry = () => {
      runs++;
      return gate.promise;
    };
    const a = await startServer({ onTelemetry, dedupe: new RedisDedupeStore(await client("node-redis"), { prefix }) });
    const b = await startServer({ onTelemetry, dedupe: new RedisDedupeStore(await client("ioredis"), { prefix }) });
    try {
      const onA = await a.connect({ deviceId: "pi-7" });
      const onB = await b.connect({ deviceId: "pi-7" }); // a stale connection lingering on another node
      const first = send(onA, ...batch("pi-7", 1));
      while (runs === 0) await sleep(5);
      const refused = await send(onB, ...batch("pi-7", 1));
      assert.equal(refused.error && refused.error.code, "busy");
      assert.equal(refused.error.permanent, false);
      gate.resolve();
      assert.deepEqual(await first, { ok: true });
      assert.deepEqual(await send(onB, ...batch("pi-7", 1)), { ok: true, duplicate: true });
      assert.equal(runs, 1);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
