// A small host for running a built plugin component in Node, for tests and
// measurements when the gateway is not at hand: jco transpiles the component to core
// wasm + JS bindings, preview2-shim provides WASI with an empty sandbox (no preopens, no
// network, as the gateway links it), and `spangate:plugin/host` is implemented here
// (logs collected, a settable clock). The guest runs in V8's wasm engine instead of
// wasmtime, so timings are indicative only.
//
//   import { loadComponent } from '.../sdk/js/scripts/component-host.mjs';
//   const plugin = await loadComponent('plugin.wasm');
//   plugin.exports.processor.init('{}');  // throws a string for WIT err(...)
//   plugin.logs                          // [[level, message], ...]
//
// Needs the JavaScript toolchain (scripts/toolchain-js.sh); its directory is taken from
// SPANGATE_JS_TOOLCHAIN, else ${SPANGATE_CACHE:-~/.cache/spangate}/toolchains/js.

import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The toolchain directory (scripts/toolchain-js.sh installs it). */
export function toolchainDir() {
  if (process.env.SPANGATE_JS_TOOLCHAIN) {
    return process.env.SPANGATE_JS_TOOLCHAIN;
  }
  const cache = process.env.SPANGATE_CACHE || join(homedir(), '.cache', 'spangate');
  return join(cache, 'toolchains', 'js');
}

function toolchainModule(path) {
  return import(pathToFileURL(join(toolchainDir(), 'node_modules', path)).href);
}

/**
 * Loads and instantiates a component.
 * @param {string} wasmPath
 * @param {{ now?: bigint }} [options] `now`: what `now-unix-nanos` returns (default: the clock)
 * @returns {Promise<{ exports: Record<string, any>, logs: [string, string][], setNow(n: bigint | null): void }>}
 */
export async function loadComponent(wasmPath, options = {}) {
  const { transpile } = await toolchainModule('@bytecodealliance/jco/dist/api.js');
  const { WASIShim } = await toolchainModule('@bytecodealliance/preview2-shim/dist/common/instantiation.js');

  const component = await readFile(wasmPath);
  const { files } = await transpile(component, {
    name: 'plugin',
    instantiation: 'async',
    noTypescript: true,
    quiet: true,
  });
  const dir = await mkdtemp(join(tmpdir(), 'spangate-component-'));
  try {
    for (const [name, bytes] of Object.entries(files)) {
      await mkdir(dirname(join(dir, name)), { recursive: true });
      await writeFile(join(dir, name), bytes);
    }
    const bindings = await import(pathToFileURL(join(dir, 'plugin.js')).href);
    const logs = [];
    let now = options.now ?? null;
    const host = {
      log(level, message) {
        logs.push([level, message]);
      },
      nowUnixNanos() {
        return now ?? BigInt(Date.now()) * 1000000n;
      },
    };
    const wasi = new WASIShim({ sandbox: { preopens: {}, enableNetwork: false, env: {}, args: [] } });
    const imports = {
      ...wasi.getImportObject(),
      ...wasi.getImportObject({ asVersion: '0.2.12' }),
      'spangate:plugin/host': host,
      'spangate:plugin/host@0.2.0': host,
    };
    const getCoreModule = (path) => WebAssembly.compile(files[path]);
    const exports = await bindings.instantiate(getCoreModule, imports);
    return {
      exports,
      logs,
      setNow(value) {
        now = value;
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
