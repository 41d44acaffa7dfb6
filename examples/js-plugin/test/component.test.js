// The built component against the native harness: for the same configs and spans, the
// edits the component answers must be exactly those the plugin answers natively.
// Runs when SPANGATE_JS_COMPONENT names the built .wasm (see README.md), e.g.
//   SPANGATE_JS_COMPONENT=reference-js.wasm node --test
// The component runs in Node (jco + preview2-shim, an empty WASI sandbox), not in the
// gateway; `spangate plugin run` is the gateway's check.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { TestSpan, ProcessorHarness, applyEdits, needsFromWit } from '@spangate/plugin-sdk/testing';

import { Reference } from '../src/plugin.js';

const wasm = process.env.SPANGATE_JS_COMPONENT;
const MS = 1_000_000n;

const spans = [
  new TestSpan({ spanId: 1n, name: 'GET /users/1', serviceName: 'api', start: 0n, end: 2000n * MS, status: 'error',
    attributes: [['user.email', 'bob@x.io'], ['http.route', '/users/:id'], ['card', 'çødé ✓ 🙂'], ['n', 4]] }),
  new TestSpan({ spanId: 2n, name: 'GET /healthz', serviceName: 'api', start: 0n, end: 2000n * MS, status: 'error' }),
  new TestSpan({ spanId: 3n, name: 'SELECT', serviceName: '', start: 5n, end: 1n, status: 'error', attributes: [['user.email', 'é']] }),
  new TestSpan({ spanId: 4n, name: 'long', serviceName: 'db', start: 0n, end: 0xffffffffffffffffn, status: 'ok' }),
  new TestSpan({ spanId: 5n, name: 'exact', serviceName: 'db', start: 7n, end: 7n + 250n * MS, attributes: [['ref.slow', 'x']] }),
];

const configs = [
  '',
  '{"mask_keys": ["user.email", "card", "n", "ref.slow"], "slow_ms": 250, "drop_name": "GET /healthz"}',
  '{"slow_ms": 0}',
];

test('the component answers exactly what the plugin answers natively', { skip: !wasm && 'set SPANGATE_JS_COMPONENT to the built .wasm' }, async () => {
  const { loadComponent } = await import('@spangate/plugin-sdk/component-host');
  const component = await loadComponent(wasm);
  const processor = component.exports.processor;
  for (const config of configs) {
    const native = new ProcessorHarness(Reference, config);
    const needs = processor.init(config);
    assert.deepEqual(needsFromWit(needs), native.needs, config);
    const answer = processor.process(native.batch(spans));
    assert.deepEqual(answer, native.answer(spans), `edits for ${config}`);
    assert.deepEqual(applyEdits(spans, native.needs, answer), native.process(spans));
    assert.deepEqual(processor.process(native.batch([])), { records: new Uint8Array(0), strings: new Uint8Array(0) });
  }
  assert.deepEqual(component.logs, []);
});

test('the component refuses a bad config with the same message', { skip: !wasm && 'set SPANGATE_JS_COMPONENT to the built .wasm' }, async () => {
  const { loadComponent } = await import('@spangate/plugin-sdk/component-host');
  const component = await loadComponent(wasm);
  for (const config of ['{"slow_ms": "1s"}', '{"mask_key": []}', '{"drop_name": 3}']) {
    let native;
    try {
      new ProcessorHarness(Reference, config);
    } catch (error) {
      native = error.message;
    }
    assert.throws(() => component.exports.processor.init(config), (error) => error.payload === native, config);
  }
  // JSON syntax errors carry the engine's own words (SpiderMonkey's, not V8's).
  assert.throws(() => component.exports.processor.init('{'), (error) => {
    assert.match(error.payload, /^config is not valid JSON: JSON\.parse: /);
    return true;
  });
  // A refused init leaves no instance: process answers "not initialised".
  assert.throws(() => component.exports.processor.process({ len: 0, columns: new Uint8Array(288), strings: new Uint8Array(0) }),
    (error) => error.payload === 'not initialised');
});
