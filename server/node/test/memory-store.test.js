"use strict";

// MemoryDedupeStore: the store contract, its count bound and retention.

const { describe, test } = require("node:test");
const assert = require("node:assert/strict");
const { MemoryDedupeStore, DEFAULT_MAX_ENTRIES, DEFAULT_RETENTION_MS } = require("..");
const { defineContract } = require("./helpers/store-contract");

describe("MemoryDedupeStore contract", () => {
  defineContract(async () => new MemoryDedupeStore());
});

describe("MemoryDedupeStore", () => {
  test("defaults: 100000 entries, 7 days", () => {
    const s = new MemoryDedupeStore();
    assert.equal(s.maxEntries, DEFAULT_MAX_ENTRIES);
    assert.equal(DEFAULT_MAX_ENTRIES, 100000);
    assert.equal(s.retentionMs, DEFAULT_RETENTION_MS);
    assert.equal(DEFAULT_RETENTION_MS, 7 * 24 * 3600 * 1000);
  });

  test("beyond maxEntries the oldest done-marks are forgotten", async () => {
    const s = new MemoryDedupeStore({ maxEntries: 3 });
    for (let seq = 1; seq <= 4; seq++) {
      const { token } = await s.acquire("d", seq, 1000);
      await s.complete("d", seq, token);
    }
    assert.equal(s.size, 3);
    assert.equal((await s.acquire("d", 1, 1000)).status, "acquired", "seq 1 was forgotten");
    assert.equal((await s.acquire("d", 4, 1000)).status, "done");
  });

  test("a done-mark older than the retention is forgotten: a resend is handled again", async () => {
    let now = 1e12;
    const s = new MemoryDedupeStore({ retentionMs: 60000, now: () => now });
    const { token } = await s.acquire("d", 1, 1000);
    await s.complete("d", 1, token);
    now += 59999;
    assert.equal((await s.acquire("d", 1, 1000)).status, "done");
    now += 1;
    assert.equal((await s.acquire("d", 1, 1000)).status, "acquired");
  });

  test("expired entries are swept as new ones are written", async () => {
    let now = 1e12;
    const s = new MemoryDedupeStore({ retentionMs: 1000, now: () => now });
    for (let seq = 1; seq <= 10; seq++) await s.complete("d", seq);
    now += 1000;
    await s.complete("d", 11);
    assert.equal(s.size, 1);
  });

  test("bad options throw", () => {
    assert.throws(() => new MemoryDedupeStore({ maxEntries: 0 }), TypeError);
    assert.throws(() => new MemoryDedupeStore({ retentionMs: 999 }), TypeError);
  });
});
