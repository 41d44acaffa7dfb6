// Per-span cost of a processor component, run in Node (jco + V8's wasm engine, not the
// gateway's wasmtime: indicative only), against the same plugin run natively in V8.
//
//   node sdk/js/scripts/bench-component.mjs <plugin.wasm> [--native <module.js>] [--config JSON]
//                                             [--configs a,b,c] [--spans 512] [--seconds 3]
//
// The batch: N spans, each with a name, a service, times (half of them slow), an error
// status on one in four, and 4 string attributes of which 2 are masked by the reference
// plugin's default config here. --native imports the plugin module and runs its
// `processor` export on the same batch in V8.

import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

import { loadComponent } from './component-host.mjs';
import { TestSpan, encode, needsFromWit } from '../src/testing/index.js';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : args[at + 1];
};
const wasm = args[0];
const config = option('--config', '{"mask_keys": ["user.email", "card"], "slow_ms": 100, "drop_name": "GET /healthz"}');
const count = Number(option('--spans', '512'));
const seconds = Number(option('--seconds', '3'));
const native = option('--native', null);
// --configs a,b,c: measure each config in turn (the fixtures/bench.js modes).
const configs = option('--configs', null)?.split(',') ?? [config];

const spans = Array.from({ length: count }, (_, i) => new TestSpan({
  traceId: BigInt(i >> 4) + 1n,
  spanId: BigInt(i) + 1n,
  serviceName: `service-${i % 8}`,
  name: i % 50 === 49 ? 'GET /healthz' : `GET /api/items/${i}`,
  start: 1764000000000000000n,
  end: 1764000000000000000n + BigInt((i % 2 === 0 ? 250 : 20) * 1e6),
  status: i % 4 === 0 ? 'error' : 'ok',
  attributes: {
    'user.email': `user${i}@example.com`,
    card: '4242 4242 4242 4242',
    'http.route': '/api/items/:id',
    'http.method': 'GET',
  },
}));

// CPU time of this process (user + system), not wall time: the machines this runs on
// are shared, and the guest runs on this one thread.
function cpuMicros() {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function measure(label, call) {
  // Warm up (V8 tiers the wasm up during the first calls), then as many calls as fit in
  // the CPU time budget.
  const warm = cpuMicros();
  for (let i = 0; i < 5 || cpuMicros() - warm < 1e6; i++) call();
  let calls = 0;
  const started = cpuMicros();
  let elapsed = 0;
  while (elapsed < seconds * 1e6) {
    call();
    calls++;
    elapsed = cpuMicros() - started;
  }
  const perCall = (elapsed * 1e3) / calls; // ns
  console.log(`${label}: ${calls} calls of ${count} spans, ${(perCall / 1e3).toFixed(1)} µs/call, ${(perCall / count).toFixed(0)} ns/span (CPU time)`);
}

const loadStarted = performance.now();
const component = await loadComponent(wasm);
const processor = Object.values(component.exports).find((e) => typeof e.process === 'function');
console.log(`load (transpile + compile + instantiate in Node): ${(performance.now() - loadStarted).toFixed(0)} ms`);
let batch;
for (const each of configs) {
  const initStarted = performance.now();
  const needs = needsFromWit(processor.init(each));
  console.log(`init ${each}: ${(performance.now() - initStarted).toFixed(2)} ms`);
  batch = encode(spans, needs).batch;
  const first = processor.process(batch);
  console.log(`answer: ${first.records.length / 24} edits, ${first.strings.length} string bytes`);
  measure(`component ${each}`, () => processor.process(batch));
}

if (native) {
  const module = await import(pathToFileURL(resolve(native)).href);
  const exported = module.processor;
  exported.init(config);
  measure('native (V8, same plugin module)', () => exported.process(batch));
}
