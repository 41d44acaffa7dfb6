import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ConfigError, PluginError, parseConfig, t } from '../src/index.js';

const schema = {
  threshold_ms: t.uint({ default: 250 }),
  name: t.string({ default: '' }),
  ratio: t.number({ default: 1, min: 0, max: 1 }),
  enabled: t.bool({ default: true }),
  mode: t.oneOf(['fast', 'slow'], { default: 'fast' }),
  keys: t.list(t.string(), { default: [] }),
  labels: t.map(t.string(), { default: {} }),
  tail: t.optional(t.object({ policies: t.list(t.object({ name: t.string({ nonEmpty: true }), weight: t.int({ default: 0 }) })) })),
};

const error = (text) => {
  try {
    parseConfig(text, schema);
  } catch (e) {
    assert.ok(e instanceof ConfigError && e instanceof PluginError);
    return e.message;
  }
  assert.fail(`accepted ${text}`);
};

test('blank text reads as an empty object: all defaults', () => {
  for (const blank of ['', '  ', '\n\t']) {
    assert.deepEqual(parseConfig(blank, schema), {
      threshold_ms: 250, name: '', ratio: 1, enabled: true, mode: 'fast', keys: [], labels: {}, tail: undefined,
    });
  }
});

test('a valid config parses, nested values too', () => {
  const config = parseConfig(
    '{"threshold_ms": 5, "keys": ["a"], "labels": {"x": "y"}, "tail": {"policies": [{"name": "p", "weight": -2}]}, "mode": "slow"}',
    schema,
  );
  assert.equal(config.threshold_ms, 5);
  assert.deepEqual(config.keys, ['a']);
  assert.deepEqual(config.labels, { x: 'y' });
  assert.deepEqual(config.tail, { policies: [{ name: 'p', weight: -2 }] });
  assert.equal(parseConfig('{"tail": null}', schema).tail, undefined);
});

test('defaults are copies', () => {
  const first = parseConfig('', schema);
  first.keys.push('mutated');
  assert.deepEqual(parseConfig('', schema).keys, []);
});

test('an unknown key is named, with the known ones', () => {
  assert.equal(error('{"bogus": 1}'),
    'bogus: unknown field `bogus`, expected one of `threshold_ms`, `name`, `ratio`, `enabled`, `mode`, `keys`, `labels`, `tail`');
  assert.equal(error('{"tail": {"policies": [{"name": "a"}, {"name": "b", "x": 1}]}}'),
    'tail.policies[1].x: unknown field `x`, expected one of `name`, `weight`');
});

test('a wrong type is named with its path', () => {
  assert.equal(error('{"threshold_ms": "fast"}'), 'threshold_ms: invalid type: string "fast", expected a non-negative integer');
  assert.equal(error('{"threshold_ms": -1}'), 'threshold_ms: invalid value: integer `-1`, expected an integer in 0..=9007199254740991');
  assert.equal(error('{"threshold_ms": 1.5}'), 'threshold_ms: invalid type: floating point `1.5`, expected a non-negative integer');
  assert.equal(error('{"threshold_ms": 1e300}'), 'threshold_ms: 1e+300 is too large: integers must be within ±(2^53 − 1)');
  assert.equal(error('{"keys": "a"}'), 'keys: invalid type: string "a", expected a sequence');
  assert.equal(error('{"keys": ["a", 3]}'), 'keys[1]: invalid type: integer `3`, expected a string');
  assert.equal(error('{"enabled": "yes"}'), 'enabled: invalid type: string "yes", expected a boolean');
  assert.equal(error('{"ratio": 2}'), 'ratio: invalid value: 2, expected a number in 0..=1');
  assert.equal(error('{"mode": "medium"}'), 'mode: unknown variant `medium`, expected one of `fast`, `slow`');
  assert.equal(error('{"labels": {"a": 1}}'), 'labels.a: invalid type: integer `1`, expected a string');
  assert.equal(error('{"tail": {"policies": [{"name": 3}]}}'), 'tail.policies[0].name: invalid type: integer `3`, expected a string');
  assert.equal(error('{"tail": {"policies": [{"name": ""}]}}'), 'tail.policies[0].name: must not be empty');
  assert.equal(error('{"tail": []}'), 'tail: invalid type: sequence, expected a map');
});

test('a missing field is named with its parent path', () => {
  assert.equal(error('{"tail": {"policies": [{}]}}'), 'tail.policies[0]: missing field `name`');
  assert.equal(error('{"tail": {}}'), 'tail: missing field `policies`');
});

test('non-objects and syntax errors', () => {
  assert.equal(error('"fast"'), 'invalid type: string "fast", expected a map of config keys');
  assert.equal(error('[1]'), 'invalid type: sequence, expected a map of config keys');
  assert.match(error('{"threshold_ms": }'), /^config is not valid JSON: /);
  assert.match(error('{} {}'), /^config is not valid JSON: /);
});
