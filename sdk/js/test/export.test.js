import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  AttributeSelection,
  ConfigError,
  Decision,
  LogLevel,
  Needs,
  PluginError,
  SpanFields,
  exportMetrics,
  exportProcessor,
  exportSampler,
  isNative,
  log,
  nowUnixNanos,
  parseConfig,
  t,
} from '../src/index.js';
import { TestSpan, encode, setNow, takeLogs } from '../src/testing/index.js';

/** Renames every span to "x"; refuses the config "bad"; throws a bug on name "crash". */
class Renamer {
  static init(config) {
    if (config === 'bad') {
      throw new PluginError('bad config');
    }
    if (config === 'typo') {
      parseConfig('{"nmae": 1}', { name: t.string({ default: '' }) });
    }
    if (config === 'bug') {
      return { plugin: new Renamer() }; // no needs: a programming error
    }
    return { plugin: new Renamer(), needs: new Needs('renamer', '1').fields(SpanFields.NAME) };
  }

  process(batch, edits) {
    for (const span of batch.spans()) {
      if (span.name === 'crash') {
        null.boom; // eslint-disable-line no-unused-expressions
      }
      if (span.name === 'undeclared') {
        span.serviceName; // eslint-disable-line no-unused-expressions
      }
      edits.setName(span.index, 'x');
    }
  }
}

const batchOf = (...names) =>
  encode(names.map((name) => new TestSpan({ name })), new Needs('t', '0').fields(SpanFields.NAME)).batch;

/** The string an exported function threw (WIT `err`), or a failure. */
function thrown(call) {
  try {
    call();
  } catch (error) {
    assert.equal(typeof error, 'string', 'errors cross the boundary as strings');
    return error;
  }
  return assert.fail('did not throw');
}

test('a processor answers only after a successful init', () => {
  const processor = exportProcessor(Renamer);
  assert.equal(thrown(() => processor.process(batchOf('a'))), 'not initialised');
  assert.equal(thrown(() => processor.init('bad')), 'bad config');
  assert.equal(thrown(() => processor.process(batchOf('a'))), 'not initialised');
  const needs = processor.init('');
  assert.equal(needs.name, 'renamer');
  assert.deepEqual(needs.fields, {
    traceId: false, spanId: false, parentSpanId: false, serviceName: false, name: true, kind: false,
    times: false, status: false, statusMessage: false, size: false, eventNames: false,
  });
  assert.deepEqual(needs.spanAttributes, { tag: 'none' });
  const answer = processor.process(batchOf('a', 'b'));
  assert.equal(answer.records.length, 48);
  assert.deepEqual(answer.strings, new TextEncoder().encode('xx'));
  // A later failed init (a reload) leaves no stale instance behind.
  assert.equal(thrown(() => processor.init('bad')), 'bad config');
  assert.equal(thrown(() => processor.process(batchOf('a'))), 'not initialised');
});

test('config errors fail init with the key named, and are not logged', () => {
  takeLogs();
  const processor = exportProcessor(Renamer);
  assert.equal(thrown(() => processor.init('typo')), 'nmae: unknown field `nmae`, expected `name`');
  assert.deepEqual(takeLogs(), []);
  assert.ok(new ConfigError('x') instanceof PluginError);
});

test('an unexpected exception is logged at error level with its stack, then fails the call', () => {
  takeLogs();
  const processor = exportProcessor(Renamer);
  processor.init('');
  const message = thrown(() => processor.process(batchOf('ok', 'crash')));
  assert.match(message, /^process threw TypeError: Cannot read properties of null/);
  const logs = takeLogs();
  assert.equal(logs.length, 1);
  assert.equal(logs[0][0], 'error');
  assert.ok(logs[0][1].startsWith(message), logs[0][1]);
  assert.match(logs[0][1], /\n\s*at .*Renamer\.process/, 'the stack is in the log');
  // Reading an undeclared field is such an exception, with the field named.
  assert.match(thrown(() => processor.process(batchOf('undeclared'))), /process threw UndeclaredFieldError: span\.serviceName: the span field `service-name` was not declared/);
  assert.equal(takeLogs()[0][0], 'error');
  // A bad init answer too.
  assert.match(thrown(() => processor.init('bug')), /^init threw TypeError: init must return \{ plugin, needs \}: `needs` is missing/);
  assert.equal(takeLogs().length, 1);
});

test('exporting something that is not a plugin class fails at once', () => {
  assert.throws(() => exportProcessor(null), /expected a plugin class/);
  assert.throws(() => exportProcessor(class {}), /needs a static init\(config\) method/);
  class NoProcess {
    static init() {
      return { plugin: {}, needs: new Needs('n', '1') };
    }
  }
  assert.match(thrown(() => exportProcessor(NoProcess).init('')), /init returned a plugin without a process\(\) method/);
});

test('needs convert to the WIT record with every selection kind', () => {
  const needs = new Needs('n', '2')
    .fields(SpanFields.TRACE_ID | SpanFields.EVENT_NAMES)
    .spanAttributes(AttributeSelection.keys(['a', 'b']))
    .resourceAttributes(AttributeSelection.allStrings)
    .eventAttributes(AttributeSelection.all)
    .linkAttributes(AttributeSelection.none);
  const wit = needs.toWit();
  assert.equal(wit.fields.traceId, true);
  assert.equal(wit.fields.eventNames, true);
  assert.equal(wit.fields.name, false);
  assert.deepEqual(wit.spanAttributes, { tag: 'keys', val: ['a', 'b'] });
  assert.deepEqual(wit.resourceAttributes, { tag: 'all-strings' });
  assert.deepEqual(wit.eventAttributes, { tag: 'all' });
  assert.deepEqual(wit.linkAttributes, { tag: 'none' });
  assert.throws(() => new Needs('n', '1').spanAttributes(['a']), /takes an AttributeSelection/);
  assert.throws(() => new Needs('n', '1').fields(1 << 20), /takes SpanFields bits/);
  assert.throws(() => AttributeSelection.keys([1]), /keys must be strings/);
});

test('sampler and metrics exports answer in the WIT shapes', () => {
  class Keep {
    static init() {
      return { plugin: new Keep(), needs: new Needs('k', '1') };
    }

    sampleHead(batch) {
      return Array.from({ length: batch.len }, (_, i) => (i === 0 ? Decision.drop : Decision.keep('p')));
    }
  }
  const sampler = exportSampler(Keep);
  assert.equal(thrown(() => sampler.sampleHead(batchOf('a'))), 'not initialised');
  assert.deepEqual(sampler.init(''), { needs: new Needs('k', '1').toWit(), tail: undefined });
  assert.deepEqual(sampler.sampleHead(batchOf('a', 'b', 'c')), { verdicts: new Uint16Array([0, 1, 1]), policies: ['p'] });
  assert.deepEqual(sampler.sampleTail(batchOf('a', 'b')), { verdicts: new Uint16Array([1]), policies: [''] });

  class Points {
    static init() {
      return { plugin: new Points(), needs: new Needs('m', '1') };
    }

    observe() {}

    collect(now) {
      if (now === 0n) {
        throw new Error('no clock');
      }
      return [{ name: 'up', value: { tag: 'gauge', val: 1 } }];
    }
  }
  const metrics = exportMetrics(Points);
  assert.deepEqual(metrics.collect(1n), [], 'no series before init');
  metrics.init('');
  assert.equal(metrics.observe(batchOf('a')), undefined);
  assert.deepEqual(metrics.collect(1n), [{ name: 'up', help: '', labels: [], value: { tag: 'gauge', val: 1 }, exemplar: undefined }]);
  takeLogs();
  assert.throws(() => metrics.collect(0n), /no clock/, 'collect cannot answer err: it traps');
  assert.match(takeLogs()[0][1], /^collect threw Error: no clock/);
});

test('the native host keeps logs and a pinnable clock', () => {
  assert.equal(isNative, true);
  takeLogs();
  log(LogLevel.INFO, 'hello');
  log('warn', 42);
  assert.deepEqual(takeLogs(), [['info', 'hello'], ['warn', '42']]);
  assert.deepEqual(takeLogs(), []);
  assert.throws(() => log('loud', 'x'), /level must be one of trace, debug, info, warn, error/);
  setNow(123n);
  assert.equal(nowUnixNanos(), 123n);
  setNow(null);
  assert.ok(nowUnixNanos() > 1_600_000_000_000_000_000n);
});
