// The Redis dedupe store: shared by every node of a Socket.IO cluster.
//
// One key per (deviceId, seq), `<prefix><deviceId>:<seq>`, holds either
//   "lease:<token>"  with a TTL of the lease (SET NX PX: only one node gets it)
//   "done"           with a TTL of the retention (SET EX)
// renew and release compare the token before they touch the key (Lua
// scripts, atomic on the server), so a node whose lease expired and was
// taken over never extends or drops its successor's lease.

"use strict";

const { DEFAULT_RETENTION_MS, checkAcquireArgs, checkRetention } = require("./contract");
const { commandRunner } = require("./redis-client");
const crypto = require("node:crypto");

// DEFAULT_PREFIX starts every key of the store.
const DEFAULT_PREFIX = "sioagent:dedupe:";
// DONE is the value of a done-mark; LEASE_PREFIX starts a lease's value.
const DONE = "done";
const LEASE_PREFIX = "lease:";
// ACQUIRE_ATTEMPTS bounds acquire's loop when the key expires between
// its SET NX and its GET (then the lease is free and SET NX is tried again).
const ACQUIRE_ATTEMPTS = 3;

// RENEW_SCRIPT: PEXPIRE the key to ARGV[2] ms if it holds ARGV[1]; 1 or 0.
const RENEW_SCRIPT = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0`;
// RELEASE_SCRIPT: DEL the key if it holds ARGV[1]; 1 or 0.
const RELEASE_SCRIPT = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`;

// RedisDedupeStore implements the dedupe store contract (contract.js) in
// Redis, through a connected node-redis or ioredis client that the caller
// owns (and closes).
class RedisDedupeStore {
  // options: prefix (default DEFAULT_PREFIX), retentionMs (how long a
  // done-mark is kept, default DEFAULT_RETENTION_MS; Redis keeps it in
  // whole seconds, rounded up).
  constructor(client, { prefix = DEFAULT_PREFIX, retentionMs = DEFAULT_RETENTION_MS } = {}) {
    if (typeof prefix !== "string") throw new TypeError("prefix must be a string");
    checkRetention(retentionMs);
    this.run = commandRunner(client);
    this.prefix = prefix;
    this.retentionMs = retentionMs;
  }

  // key is the Redis key of (deviceId, seq); seq is an integer, so the
  // last ":" starts it.
  key(deviceId, seq) {
    return `${this.prefix}${deviceId}:${seq}`;
  }

  // acquire takes the lease on (deviceId, seq) for ttlMs: {status:
  // "acquired", token}, {status: "done"} or {status: "busy"}.
  async acquire(deviceId, seq, ttlMs) {
    checkAcquireArgs(deviceId, seq, ttlMs);
    const key = this.key(deviceId, seq);
    const token = crypto.randomUUID();
    for (let i = 0; i < ACQUIRE_ATTEMPTS; i++) {
      const set = await this.run(["SET", key, LEASE_PREFIX + token, "NX", "PX", String(ttlMs)]);
      if (set === "OK") return { status: "acquired", token };
      const value = await this.run(["GET", key]);
      if (value === DONE) return { status: "done" };
      if (value !== null && value !== undefined) return { status: "busy" };
      // Expired between the two commands: the lease is free again.
    }
    return { status: "busy" };
  }

  // renew extends the lease held with token to ttlMs from now; false when
  // the lease is no longer the caller's.
  async renew(deviceId, seq, token, ttlMs) {
    const n = await this.run(["EVAL", RENEW_SCRIPT, "1", this.key(deviceId, seq), LEASE_PREFIX + token, String(ttlMs)]);
    return Number(n) === 1;
  }

  // release drops the lease held with token; false when it was no longer
  // the caller's.
  async release(deviceId, seq, token) {
    const n = await this.run(["EVAL", RELEASE_SCRIPT, "1", this.key(deviceId, seq), LEASE_PREFIX + token]);
    return Number(n) === 1;
  }

  // complete marks (deviceId, seq) done for the retention, whoever holds
  // its lease: the batch was handled.
  async complete(deviceId, seq) {
    const seconds = Math.ceil(this.retentionMs / 1000);
    await this.run(["SET", this.key(deviceId, seq), DONE, "EX", String(seconds)]);
  }
}

module.exports = { RedisDedupeStore, DEFAULT_PREFIX };
