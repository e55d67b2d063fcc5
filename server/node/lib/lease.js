// Keeping a dedupe lease alive while its handler runs.

"use strict";

// DEFAULT_LEASE_TTL_MS is the lease's time to live: a node that dies while
// handling a batch holds its seq for at most this long.
const DEFAULT_LEASE_TTL_MS = 30000;
// MIN_LEASE_TTL_MS is the shortest lease allowed.
const MIN_LEASE_TTL_MS = 100;
// RENEW_FRACTION: the lease is renewed every ttl * RENEW_FRACTION, so two
// renewals can fail (or be late) before it expires.
const RENEW_FRACTION = 1 / 3;

// checkLeaseTtl validates a leaseTtlMs option.
function checkLeaseTtl(ttlMs) {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < MIN_LEASE_TTL_MS) {
    throw new TypeError(`leaseTtlMs must be an integer from ${MIN_LEASE_TTL_MS}`);
  }
}

// keepLease renews the lease (deviceId, seq, token) on store every
// ttlMs * RENEW_FRACTION until the returned stop() is called. Renewals are
// never concurrent: the next is scheduled when one ends. warn(message,
// error?) is told when a renewal fails or finds the lease lost (then
// renewing stops: another node may hold it now).
function keepLease(store, deviceId, seq, token, ttlMs, warn) {
  const every = Math.max(1, Math.floor(ttlMs * RENEW_FRACTION));
  let stopped = false;
  let timer;
  const schedule = () => {
    timer = setTimeout(renew, every);
  };
  async function renew() {
    let kept;
    try {
      kept = await store.renew(deviceId, seq, token, ttlMs);
    } catch (err) {
      if (!stopped) warn(`renewing the lease of seq ${seq} failed; trying again`, err);
      if (!stopped) schedule();
      return;
    }
    if (stopped) return;
    if (!kept) {
      warn(`the lease of seq ${seq} expired while its handler ran; a resend may be handled again`);
      return;
    }
    schedule();
  }
  schedule();
  return function stop() {
    stopped = true;
    clearTimeout(timer);
  };
}

module.exports = { DEFAULT_LEASE_TTL_MS, MIN_LEASE_TTL_MS, RENEW_FRACTION, checkLeaseTtl, keepLease };
