// Native tests of every rule of the reference plugin: `node --test` (no wasm, no gateway).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AttributeSelection, SpanFields, Value } from '@spangate/plugin-sdk';
import { PluginCallError, ProcessorHarness, TestSpan, takeLogs } from '@spangate/plugin-sdk/testing';

import { Reference } from '../src/plugin.js';

const MS = 1_000_000n;

function run(config, spans) {
  return new ProcessorHarness(Reference, config).process(spans);
}

test('needs: name, version, fields and the masked keys', () => {
  const { needs } = new ProcessorHarness(Reference, '{"mask_keys": ["user.email", "card"]}');
  assert.equal(needs.name, 'reference');
  assert.equal(needs.version, '1.0.0');
  assert.equal(needs.spanFields, SpanFields.NAME | SpanFields.SERVICE_NAME | SpanFields.TIMES | SpanFields.STATUS);
  assert.deepEqual(needs.spanAttributeSelection, AttributeSelection.keys(['user.email', 'card']));
  assert.ok(needs.resourceAttributeSelection.isNone && needs.eventAttributeSelection.isNone && needs.linkAttributeSelection.isNone);
  // No masked keys: still a (empty) key selection, which lets the plugin add attributes.
  assert.deepEqual(new ProcessorHarness(Reference, '').needs.spanAttributeSelection, AttributeSelection.keys([]));
});

test('config: every key optional, empty text is {}', () => {
  for (const config of ['', '{}', '  ']) {
    // Defaults: no masking, slow at 1000 ms, nothing dropped.
    const [out] = run(config, [new TestSpan({ name: 'a', start: 0n, end: 1000n * MS, attributes: { k: 'v' } })]);
    assert.deepEqual(out.attributeMap(), { k: 'v', 'ref.slow': true, 'ref.duration_ms': 1000n });
  }
});

test('config: an unknown key or a wrong type refuses init, naming the key', () => {
  const refused = (config, message) =>
    assert.throws(() => new ProcessorHarness(Reference, config), (e) => e instanceof PluginCallError && e.message === message);
  refused('{"mask_key": []}', 'mask_key: unknown field `mask_key`, expected one of `mask_keys`, `slow_ms`, `drop_name`');
  refused('{"mask_keys": "user.email"}', 'mask_keys: invalid type: string "user.email", expected a sequence');
  refused('{"mask_keys": ["a", 1]}', 'mask_keys[1]: invalid type: integer `1`, expected a string');
  refused('{"slow_ms": "1s"}', 'slow_ms: invalid type: string "1s", expected a non-negative integer');
  refused('{"slow_ms": -1}', 'slow_ms: invalid value: integer `-1`, expected an integer in 0..=9007199254740991');
  refused('{"slow_ms": 2.5}', 'slow_ms: invalid type: floating point `2.5`, expected a non-negative integer');
  refused('{"drop_name": null}', 'drop_name: invalid type: null, expected a string');
  refused('{"drop_name": 3}', 'drop_name: invalid type: integer `3`, expected a string');
  refused('[]', 'invalid type: sequence, expected a map of config keys');
  assert.throws(() => new ProcessorHarness(Reference, '{'), /^PluginCallError: config is not valid JSON/);
});

test('drop: a span named drop_name is dropped, and nothing else happens to it', () => {
  const spans = [
    new TestSpan({ spanId: 1n, name: 'GET /healthz', serviceName: 's', start: 0n, end: 5000n * MS, status: 'error', attributes: { secret: 'x' } }),
    new TestSpan({ spanId: 2n, name: 'GET /cart', serviceName: 's' }),
    new TestSpan({ spanId: 3n, name: 'GET /healthz' }),
  ];
  const harness = new ProcessorHarness(Reference, '{"drop_name": "GET /healthz", "mask_keys": ["secret"]}');
  assert.deepEqual(
    harness.process(spans).map((s) => [s.spanId, s.name]),
    [['0000000000000002', 'GET /cart']],
  );
  const { records } = harness.answer(spans);
  assert.equal(records.length, 2 * 24, 'two drops, no other edit');
});

test('drop: an empty drop_name drops nothing, not even unnamed spans', () => {
  const out = run('{"drop_name": ""}', [new TestSpan({ name: '' }), new TestSpan({ name: 'a' })]);
  assert.equal(out.length, 2);
});

test('mask: string values of masked keys become <masked:N>, N their UTF-8 bytes', () => {
  const [out] = run('{"mask_keys": ["user.email", "card", "note"]}', [
    new TestSpan({
      name: 'a',
      attributes: [
        ['user.email', 'alice@example.com'],
        ['card', 'çødé ✓ 🙂'],
        ['note', ''],
        ['other', 'kept'],
        ['user.email', 'second row too'],
      ],
    }),
  ]);
  assert.deepEqual(out.attributes.map(([k, v]) => [k, v.value]), [
    ['user.email', '<masked:17>'],
    ['card', '<masked:16>'],
    ['note', '<masked:0>'],
    ['other', 'kept'],
    ['user.email', '<masked:14>'],
  ]);
});

test('mask: values that are not strings are left alone', () => {
  const [out] = run('{"mask_keys": ["n", "flag", "ratio", "list"]}', [
    new TestSpan({ attributes: [['n', 42], ['flag', true], ['ratio', 0.5], ['list', Value.json('["a"]')]] }),
  ]);
  assert.deepEqual(out.attributes, [['n', Value.int(42)], ['flag', Value.bool(true)], ['ratio', Value.double(0.5)], ['list', Value.json('["a"]')]]);
});

test('slow: at least slow_ms adds ref.slow then ref.duration_ms (floored)', () => {
  const spans = [
    new TestSpan({ spanId: 1n, start: 1764000000000000000n, end: 1764000000000000000n + 250n * MS }), // exactly slow_ms
    new TestSpan({ spanId: 2n, start: 0n, end: 250n * MS - 1n }), // 1 ns short
    new TestSpan({ spanId: 3n, start: 10n, end: 10n + 1234n * MS + 999_999n }), // floored to 1234
    new TestSpan({ spanId: 4n, start: 0n, end: 0xffffffffffffffffn }), // the largest duration, exactly
  ];
  const out = run('{"slow_ms": 250}', spans);
  assert.deepEqual(out[0].attributes, [['ref.slow', Value.bool(true)], ['ref.duration_ms', Value.int(250)]]);
  assert.deepEqual(out[1].attributes, []);
  assert.deepEqual(out[2].attributeMap(), { 'ref.slow': true, 'ref.duration_ms': 1234n });
  assert.deepEqual(out[3].attributeMap(), { 'ref.slow': true, 'ref.duration_ms': 18446744073709n });
});

test('slow: an end before the start counts as 0, slow only when slow_ms is 0', () => {
  const backwards = [new TestSpan({ start: 5000n * MS, end: 1n })];
  assert.deepEqual(run('{"slow_ms": 1}', backwards)[0].attributes, []);
  assert.deepEqual(run('{"slow_ms": 0}', backwards)[0].attributeMap(), { 'ref.slow': true, 'ref.duration_ms': 0n });
});

test('slow: existing ref.* attributes get their values replaced (the host adds by key)', () => {
  const [out] = run('{"slow_ms": 1, "mask_keys": ["ref.slow"]}', [
    new TestSpan({ start: 0n, end: 3n * MS, attributes: [['ref.slow', 'no'], ['ref.duration_ms', 'x']] }),
  ]);
  // ref.slow was masked (set) and added (replaced): the add wins, as in the host.
  assert.deepEqual(out.attributeMap(), { 'ref.slow': true, 'ref.duration_ms': 3n });
});

test('error: the span is renamed <service>: <name>, service "unknown" when empty', () => {
  const out = run('', [
    new TestSpan({ name: 'GET /cart', serviceName: 'checkout', status: 'error' }),
    new TestSpan({ name: 'SELECT', serviceName: '', status: 'error' }),
    new TestSpan({ name: 'fine', serviceName: 'checkout', status: 'ok' }),
    new TestSpan({ name: 'unset', serviceName: 'checkout' }),
    new TestSpan({ name: '', serviceName: 'x', status: 'error' }),
  ]);
  assert.deepEqual(out.map((s) => s.name), ['checkout: GET /cart', 'unknown: SELECT', 'fine', 'unset', 'x: ']);
});

test('all rules together, per span in batch order', () => {
  const spans = [
    new TestSpan({ spanId: 1n, name: 'GET /users/1', serviceName: 'api', start: 0n, end: 2000n * MS, status: 'error',
      attributes: [['user.email', 'bob@x.io'], ['http.route', '/users/:id']] }),
    new TestSpan({ spanId: 2n, name: 'GET /healthz', serviceName: 'api', start: 0n, end: 2000n * MS, status: 'error' }),
    new TestSpan({ spanId: 3n, name: 'SELECT', serviceName: 'db', start: 0n, end: 10n * MS, attributes: [['user.email', 'é']] }),
  ];
  const harness = new ProcessorHarness(Reference, '{"mask_keys": ["user.email"], "slow_ms": 1000, "drop_name": "GET /healthz"}');
  const out = harness.process(spans);
  assert.equal(out.length, 2);
  assert.equal(out[0].name, 'api: GET /users/1');
  assert.deepEqual(out[0].attributeMap(), {
    'user.email': '<masked:8>',
    'http.route': '/users/:id',
    'ref.slow': true,
    'ref.duration_ms': 2000n,
  });
  assert.equal(out[1].name, 'SELECT');
  assert.deepEqual(out[1].attributeMap(), { 'user.email': '<masked:2>' });
  assert.deepEqual(takeLogs(), [], 'the plugin logs nothing');
});

test('an empty batch answers no edits', () => {
  const harness = new ProcessorHarness(Reference, '{"mask_keys": ["a"]}');
  assert.deepEqual(harness.process([]), []);
  assert.equal(harness.answer([]).records.length, 0);
});
