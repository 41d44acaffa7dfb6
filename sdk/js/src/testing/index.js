// '@spangate/plugin-sdk/testing': run plugin logic natively, without wasm or a gateway,
// with the normal `node --test`:
//
//   import { ProcessorHarness, TestSpan } from '@spangate/plugin-sdk/testing';
//   const harness = new ProcessorHarness(MyPlugin, '{}');
//   const out = harness.process([new TestSpan({ name: 'GET /healthz' })]);
//
// `encode` builds the batch the host would send for a plugin's needs and `applyEdits`
// applies a processor's answer with the host's checks, so a test goes spans in, spans
// out. `host.log` goes to memory (`takeLogs()`) and `setNow(n)` pins the clock.

export { TestSpan } from './span.js';
export { encode, BatchBuilder } from './encode.js';
export { applyEdits, applyDecisions, EditError } from './apply.js';
export { ProcessorHarness, SamplerHarness, MetricsHarness, PluginCallError, needsFromWit } from './harness.js';
export { takeLogs, setNow } from '#host';
