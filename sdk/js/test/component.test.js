// The SDK inside real components: the fixtures of fixtures/ are built with
// scripts/build-js-plugin.sh and run in Node through jco (scripts/component-host.mjs).
// Slow (a build takes 10-30 s each), so only with SPANGATE_JS_COMPONENT_TESTS=1:
//   SPANGATE_JS_COMPONENT_TESTS=1 node --test test/

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Decision, Needs, SpanFields } from '../src/index.js';
import { TestSpan, encode } from '../src/testing/index.js';
import { loadComponent } from '../scripts/component-host.mjs';

const enabled = process.env.SPANGATE_JS_COMPONENT_TESTS === '1';
const skip = !enabled && 'set SPANGATE_JS_COMPONENT_TESTS=1 to build and run the fixture components';
const here = dirname(fileURLToPath(import.meta.url));
const build = join(here, '..', '..', '..', 'scripts', 'build-js-plugin.sh');
let out;

function built(name) {
  const wasm = join(out, `${name}.wasm`);
  execFileSync(build, [join(here, '..', 'fixtures'), wasm, '--entry', `${name}.js`], { stdio: ['ignore', 'ignore', 'inherit'] });
  return wasm;
}

before(() => {
  out = mkdtempSync(join(tmpdir(), 'spangate-js-components-'));
});

after(() => {
  rmSync(out, { recursive: true, force: true });
});

const batch = (names, needs = new Needs('t', '0').fields(SpanFields.NAME)) =>
  encode(names.map((name) => new TestSpan({ name })), needs).batch;

/** The WIT err payload of a call (jco throws a ComponentError carrying it). */
function err(call) {
  try {
    call();
  } catch (error) {
    assert.ok('payload' in error, `a trap, not an err: ${error}`);
    return error.payload;
  }
  return assert.fail('the call succeeded');
}

test('processor: answers, expected failures, bugs logged with their stack', { skip }, async () => {
  const component = await loadComponent(built('processor'), { now: 42n });
  const processor = component.exports.processor;
  assert.equal(err(() => processor.init('refuse')), 'refused on purpose');
  assert.equal(err(() => processor.process(batch(['a']))), 'not initialised');
  assert.equal(err(() => processor.init('throw')), 'init threw RangeError: init bug');
  assert.equal(component.logs.length, 1);
  assert.equal(component.logs[0][0], 'error');
  assert.match(component.logs[0][1], /^init threw RangeError: init bug\ninit@plugin\.js:\d+:\d+/, 'SpiderMonkey stack frames follow');

  component.logs.length = 0;
  const needs = processor.init('');
  assert.equal(needs.name, 'fixture');
  assert.equal(needs.fields.name, true);
  const answer = processor.process(batch(['get', 'héllo']));
  assert.equal(answer.records.length, 48);
  assert.equal(new TextDecoder().decode(answer.strings), 'GETHÉLLO');
  assert.deepEqual(component.logs, [['info', 'batch of 2 at 42']], 'host.log and now-unix-nanos reach the host');

  component.logs.length = 0;
  assert.equal(err(() => processor.process(batch(['expected']))), 'expected failure');
  assert.deepEqual(component.logs.filter(([level]) => level === 'error'), [], 'expected failures are not logged');

  component.logs.length = 0;
  const message = err(() => processor.process(batch(['bug'])));
  assert.match(message, /^process threw TypeError: .*span\.nothing is undefined/);
  const [level, text] = component.logs.at(-1);
  assert.equal(level, 'error');
  assert.ok(text.startsWith(message));
  assert.match(text, /crash@plugin\.js:\d+:\d+\nprocess@plugin\.js/, text);

  assert.match(err(() => processor.process(batch(['undeclared']))), /UndeclaredFieldError: span\.serviceName: the span field `service-name` was not declared/);
  // The instance survives an err: the next batch is answered.
  assert.equal(processor.process(batch(['ok'])).records.length, 24);
});

test('sampler: head verdicts with policies, tail settings and decisions', { skip }, async () => {
  const component = await loadComponent(built('sampler'));
  const sampler = component.exports.sampler;
  const needs = sampler.init('');
  assert.deepEqual(needs.tail, { decisionWaitMillis: 1500n, maxTraces: 100, maxSpansPerTrace: 1000 });
  assert.equal(needs.needs.fields.traceId, true);
  const head = sampler.sampleHead(batch(['keep-a', 'drop', 'keep-b', 'keep-a'], new Needs('t', '0').fields(SpanFields.NAME)));
  assert.deepEqual(head, { verdicts: new Uint16Array([1, 0, 2, 1]), policies: ['keep-a', 'keep-b'] });
  const traced = [1n, 2n, 1n, 3n].map((traceId) => new TestSpan({ traceId }));
  const tail = sampler.sampleTail(encode(traced, new Needs('t', '0').fields(SpanFields.TRACE_ID)).batch);
  assert.deepEqual(tail, { verdicts: new Uint16Array([1, 0, 2]), policies: ['trace-1', 'trace-3'] });
  assert.ok(Decision.drop);
});

test('metrics: observe, then collect counters and histograms', { skip }, async () => {
  const component = await loadComponent(built('metrics'));
  const metrics = component.exports.metrics;
  assert.deepEqual(metrics.collect(1n), []);
  metrics.init('');
  const needs = new Needs('t', '0').fields(SpanFields.SERVICE_NAME | SpanFields.TIMES);
  metrics.observe(encode([
    new TestSpan({ serviceName: 'a', start: 0n, end: 50_000_000n }),
    new TestSpan({ serviceName: 'a', start: 0n, end: 500_000_000n }),
    new TestSpan({ serviceName: 'b', start: 0n, end: 5_000_000_000n }),
  ], needs).batch);
  const points = metrics.collect(99n);
  assert.deepEqual(points.slice(0, 2), [
    { name: 'spans_total', help: 'Spans seen', labels: [['service', 'a']], value: { tag: 'counter', val: 2 }, exemplar: undefined },
    { name: 'spans_total', help: 'Spans seen', labels: [['service', 'b']], value: { tag: 'counter', val: 1 }, exemplar: undefined },
  ]);
  const histogram = points[2];
  assert.equal(histogram.name, 'span_seconds');
  assert.deepEqual(Array.from(histogram.value.val.upperBounds), [0.1, 1]);
  assert.deepEqual(Array.from(histogram.value.val.bucketCounts), [1n, 2n]);
  assert.equal(histogram.value.val.count, 3n);
  assert.equal(histogram.exemplar.timeUnixNanos, 99n);
});
