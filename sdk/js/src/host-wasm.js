// The host of a wasm component: the `spangate:plugin/host` imports. The build bundles
// this file (the `spangate-wasm` condition of the package's `#host` import) and leaves
// the `spangate:plugin/host@0.2.0` import to componentize-js.

export { log, nowUnixNanos } from 'spangate:plugin/host@0.2.0';

export function takeLogs() {
  return [];
}

export function setNow() {}

export const native = false;
