// The in-memory dedupe store: one process, bounded by count. For a single
// Socket.IO node; a cluster needs RedisDedupeStore, since each node would
// otherwise dedupe only what it saw itself.
//
// Every (deviceId, seq) is one entry: a lease {token, expiresAt} while a
// handler runs, then a done-mark {done, expiresAt} kept for the retention.
// Entries live in a Map in the order they were last written, so the oldest
// are first: expired ones are swept from the front at each write, and
// beyond maxEntries the oldest go, done-marks or not (a lease is normally
// far younger than maxEntries writes).

"use strict";

const crypto = require("node:crypto");
const { DEFAULT_RETENTION_MS, checkAcquireArgs, checkRetention } = require("./contract");

// DEFAULT_MAX_ENTRIES bounds the entries of one MemoryDedupeStore (about
// 130 bytes each, measured: some 13 MB at the bound).
const DEFAULT_MAX_ENTRIES = 100000;

// MemoryDedupeStore implements the dedupe store contract (contract.js) in
// this process's memory.
class MemoryDedupeStore {
  // options: maxEntries (default DEFAULT_MAX_ENTRIES), retentionMs (how
  // long a done-mark is kept, default DEFAULT_RETENTION_MS), now (the
  // clock, default Date.now; for tests).
  constructor({ maxEntries = DEFAULT_MAX_ENTRIES, retentionMs = DEFAULT_RETENTION_MS, now = Date.now } = {}) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new TypeError("maxEntries must be an integer from 1");
    checkRetention(retentionMs);
    this.maxEntries = maxEntries;
    this.retentionMs = retentionMs;
    this.now = now;
    this.entries = new Map();
  }

  // key is the Map key of (deviceId, seq); seq is an integer, so the first
  // ":" ends it.
  static key(deviceId, seq) {
    return `${seq}:${deviceId}`;
  }

  // live returns the entry of key unless it has expired (and forgets it).
  live(key) {
    const e = this.entries.get(key);
    if (e && e.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  // write sets key to entry as the newest, then sweeps and bounds.
  write(key, entry) {
    this.entries.delete(key);
    this.entries.set(key, entry);
    const now = this.now();
    for (const [k, e] of this.entries) {
      if (e.expiresAt > now && this.entries.size <= this.maxEntries) break;
      this.entries.delete(k);
    }
  }

  // acquire takes the lease on (deviceId, seq) for ttlMs: {status:
  // "acquired", token}, or {status: "done"} when it was handled already,
  // or {status: "busy"} while another lease holds it.
  async acquire(deviceId, seq, ttlMs) {
    checkAcquireArgs(deviceId, seq, ttlMs);
    const key = MemoryDedupeStore.key(deviceId, seq);
    const e = this.live(key);
    if (e) return { status: e.done ? "done" : "busy" };
    const token = crypto.randomUUID();
    this.write(key, { token, expiresAt: this.now() + ttlMs });
    return { status: "acquired", token };
  }

  // renew extends the lease held with token to ttlMs from now; false when
  // the lease is no longer the caller's (expired, or taken over).
  async renew(deviceId, seq, token, ttlMs) {
    const e = this.live(MemoryDedupeStore.key(deviceId, seq));
    if (!e || e.done || e.token !== token) return false;
    e.expiresAt = this.now() + ttlMs;
    return true;
  }

  // release drops the lease held with token, so that a resend is handled
  // again; false when it was no longer the caller's.
  async release(deviceId, seq, token) {
    const key = MemoryDedupeStore.key(deviceId, seq);
    const e = this.live(key);
    if (!e || e.done || e.token !== token) return false;
    this.entries.delete(key);
    return true;
  }

  // complete marks (deviceId, seq) done for the retention, whoever holds
  // its lease: the batch was handled.
  async complete(deviceId, seq) {
    this.write(MemoryDedupeStore.key(deviceId, seq), { done: true, expiresAt: this.now() + this.retentionMs });
  }

  // size is the number of entries, expired ones not yet swept included.
  get size() {
    return this.entries.size;
  }
}

module.exports = { MemoryDedupeStore, DEFAULT_MAX_ENTRIES };
