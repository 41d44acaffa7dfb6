// The stand-in host of native runs (tests, the harness): logs are kept in memory and
// read with `takeLogs()` from '@spangate/plugin-sdk/testing'; the clock is the system's
// unless `setNow(n)` pinned it.

const logs = [];
let pinnedNow = null;

/**
 * @param {'trace'|'debug'|'info'|'warn'|'error'} level
 * @param {string} message
 */
export function log(level, message) {
  logs.push([level, message]);
}

/** @returns {bigint} */
export function nowUnixNanos() {
  if (pinnedNow !== null) {
    return pinnedNow;
  }
  return BigInt(Date.now()) * 1000000n;
}

/** The logs since the last call, as `[level, message]` pairs. */
export function takeLogs() {
  return logs.splice(0, logs.length);
}

/** Pins `nowUnixNanos()` to `unixNanos` (a bigint); `null` returns to the system clock. */
export function setNow(unixNanos) {
  pinnedNow = unixNanos === null ? null : BigInt(unixNanos);
}

export const native = true;
