// What the host gives a plugin: a log and a clock. Inside a component these call the
// `spangate:plugin/host` imports; natively (tests) logs are kept for `takeLogs()` and the
// clock can be pinned with `setNow()` (both in '@spangate/plugin-sdk/testing').

import * as host from '#host';

/** Log levels, as the WIT `log-level` enum names them. */
export const LogLevel = Object.freeze({
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
});

const LEVELS = new Set(Object.values(LogLevel));

/**
 * Logs `message` through the gateway's log, tagged with the plugin's name (at most 32
 * lines per call and 4 KiB per line reach it).
 * @param {'trace'|'debug'|'info'|'warn'|'error'} level
 * @param {string} message
 */
export function log(level, message) {
  if (!LEVELS.has(level)) {
    throw new TypeError(`log: level must be one of ${[...LEVELS].join(', ')}, not ${String(level)}`);
  }
  host.log(level, String(message));
}

/** The host's wall clock, nanoseconds since the Unix epoch (a bigint). */
export function nowUnixNanos() {
  return host.nowUnixNanos();
}

/** Whether this runs natively (tests) rather than inside a component. */
export const isNative = host.native;
