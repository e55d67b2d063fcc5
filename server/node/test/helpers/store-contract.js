// The dedupe store contract (lib/stores/contract.js) as tests, run against
// every store: defineContract(makeStore) adds them to the current suite.
// makeStore({retentionMs}) resolves with a fresh, empty store.

"use strict";

const { test } = require("node:test");
const assert = require("node:assert/strict");

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// TTL_MS is the lease of the tests that wait for it to expire.
const TTL_MS = 200;
// LONG_TTL_MS is a lease that outlives any test.
const LONG_TTL_MS = 60000;
// CONCURRENT_ACQUIRES is how many acquires race for one seq.
const CONCURRENT_ACQUIRES = 20;

function defineContract(makeStore) {
  test("acquire, busy while leased, done after complete", async () => {
    const store = await makeStore();
    const a = await store.acquire("d", 1, LONG_TTL_MS);
    assert.equal(a.status, "acquired");
    assert.equal(typeof a.token, "string");
    assert.deepEqual(await store.acquire("d", 1, LONG_TTL_MS), { status: "busy" });
    await store.complete("d", 1, a.token);
    assert.deepEqual(await store.acquire("d", 1, LONG_TTL_MS), { status: "done" });
    // Other seqs and other devices are separate.
    assert.equal((await store.acquire("d", 2, LONG_TTL_MS)).status, "acquired");
    assert.equal((await store.acquire("e", 1, LONG_TTL_MS)).status, "acquired");
    assert.equal((await store.acquire("d:1", 1, LONG_TTL_MS)).status, "acquired");
  });

  test("release by token frees the seq; a wrong token changes nothing", async () => {
    const store = await makeStore();
    const a = await store.acquire("d", 1, LONG_TTL_MS);
    assert.equal(await store.release("d", 1, "not-the-token"), false);
    assert.equal(await store.renew("d", 1, "not-the-token", LONG_TTL_MS), false);
    assert.deepEqual(await store.acquire("d", 1, LONG_TTL_MS), { status: "busy" });
    assert.equal(await store.release("d", 1, a.token), true);
    assert.equal(await store.release("d", 1, a.token), false);
    assert.equal((await store.acquire("d", 1, LONG_TTL_MS)).status, "acquired");
  });

  test("renew keeps the lease past its TTL; without it the lease expires", async () => {
    const store = await makeStore();
    const a = await store.acquire("d", 1, TTL_MS);
    await sleep(TTL_MS / 2);
    assert.equal(await store.renew("d", 1, a.token, TTL_MS * 3), true);
    await sleep(TTL_MS);
    assert.deepEqual(await store.acquire("d", 1, TTL_MS), { status: "busy" });

    const b = await store.acquire("d", 2, TTL_MS);
    await sleep(TTL_MS * 1.5);
    const c = await store.acquire("d", 2, LONG_TTL_MS);
    assert.equal(c.status, "acquired", "an expired lease is taken over");
    // The first holder can neither extend nor drop its successor's lease.
    assert.equal(await store.renew("d", 2, b.token, LONG_TTL_MS), false);
    assert.equal(await store.release("d", 2, b.token), false);
    assert.deepEqual(await store.acquire("d", 2, LONG_TTL_MS), { status: "busy" });
  });

  test("of concurrent acquires exactly one gets the lease", async () => {
    const store = await makeStore();
    const results = await Promise.all(Array.from({ length: CONCURRENT_ACQUIRES }, () => store.acquire("d", 7, LONG_TTL_MS)));
    assert.equal(results.filter((r) => r.status === "acquired").length, 1);
    assert.equal(results.filter((r) => r.status === "busy").length, CONCURRENT_ACQUIRES - 1);
  });

  test("complete marks done whoever holds the lease", async () => {
    const store = await makeStore();
    await store.acquire("d", 1, TTL_MS);
    await sleep(TTL_MS * 1.5);
    const late = await store.acquire("d", 1, LONG_TTL_MS);
    assert.equal(late.status, "acquired");
    await store.complete("d", 1, "the expired holder's token");
    assert.deepEqual(await store.acquire("d", 1, LONG_TTL_MS), { status: "done" });
  });

  test("bad arguments throw TypeError", async () => {
    const store = await makeStore();
    await assert.rejects(store.acquire("", 1, TTL_MS), TypeError);
    await assert.rejects(store.acquire("d", 0, TTL_MS), TypeError);
    await assert.rejects(store.acquire("d", 1, 0), TypeError);
  });
}

module.exports = { defineContract, sleep };
