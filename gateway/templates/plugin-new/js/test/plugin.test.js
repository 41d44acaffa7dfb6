// Native tests: no wasm, no gateway (`node --test`). The harness encodes the spans as the
// gateway would for the plugin's needs, runs `process`, and applies the edits with the
// gateway's checks.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ProcessorHarness, TestSpan } from '@spangate/plugin-sdk/testing';

import { Plugin } from '../src/plugin.js';

test('spans get plugin.hello and the configured name is dropped', () => {
  const harness = new ProcessorHarness(Plugin, '{"drop_name": "GET /healthz"}');
  const out = harness.process([
    new TestSpan({ spanId: 1n, name: 'GET /users/42' }),
    new TestSpan({ spanId: 2n, name: 'GET /healthz' }),
  ]);
  assert.deepEqual(out.map((span) => span.name), ['GET /users/42']);
  assert.deepEqual(out[0].attributeMap(), { 'plugin.hello': 'world' });
});
