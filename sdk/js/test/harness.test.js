import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AttributeSelection, Decision, Needs, PluginError, SpanFields, Value, log, traceIdsInOrder } from '../src/index.js';
import {
  EditError,
  MetricsHarness,
  PluginCallError,
  ProcessorHarness,
  SamplerHarness,
  TestSpan,
  applyDecisions,
  applyEdits,
  takeLogs,
} from '../src/testing/index.js';
import { Edits } from '../src/edits.js';

/** A processor whose process() runs the function in its config slot. */
class Scripted {
  static script = () => {};
  static needs = new Needs('scripted', '1').fields(SpanFields.NAME);

  static init() {
    return { plugin: new Scripted(), needs: Scripted.needs };
  }

  process(batch, edits) {
    Scripted.script(batch, edits);
  }
}

function run(needs, spans, script) {
  Scripted.needs = needs;
  Scripted.script = script;
  return new ProcessorHarness(Scripted, '').process(spans);
}

const spans = () => [
  new TestSpan({ spanId: 1n, name: 'a', serviceName: 's', attributes: { k: 'v', n: 1 }, resourceAttributes: { r: 'x' },
    events: [{ name: 'e0', attributes: { ea: 1 } }], links: [{ attributes: { la: 'l' } }] }),
  new TestSpan({ spanId: 2n, name: 'b', serviceName: 's', attributes: { k: 'w' }, resourceAttributes: { r: 'x' } }),
  new TestSpan({ spanId: 3n, name: 'c', serviceName: 't', resourceAttributes: { r: 'y' } }),
];

const all = () =>
  new Needs('t', '0')
    .fields(SpanFields.ALL)
    .spanAttributes(AttributeSelection.all)
    .resourceAttributes(AttributeSelection.all)
    .eventAttributes(AttributeSelection.all)
    .linkAttributes(AttributeSelection.all);

test('edits apply: sets, removals, adds (replacing an existing key), renames, drops', () => {
  const out = run(all(), spans(), (batch, edits) => {
    edits.setSpanAttribute(0, 'masked');
    edits.removeSpanAttribute(1);
    edits.addSpanAttribute(1, 'k', 'replaced');
    edits.addSpanAttribute(1, 'new', Value.double(2));
    edits.setResourceAttribute(0, 'shared');
    edits.removeResourceAttribute(1);
    edits.setEventAttribute(0, 5);
    edits.setEventName(0, 'renamed');
    edits.removeLinkAttribute(0);
    edits.setName(1, 'B');
    edits.setStatusMessage(1, 'msg');
    edits.dropSpan(2);
  });
  assert.equal(out.length, 2);
  assert.deepEqual(out[0].attributeMap(), { k: 'masked' });
  assert.deepEqual(out[1].attributeMap(), { k: 'replaced', new: 2 });
  assert.equal(out[1].attributes[1][1].kind, 'double');
  assert.deepEqual(out[0].resourceAttributeMap(), { r: 'shared' });
  assert.deepEqual(out[1].resourceAttributeMap(), { r: 'shared' }, 'a resource edit reaches every span of it');
  assert.equal(out[0].events[0].name, 'renamed');
  assert.deepEqual(out[0].events[0].attributes, [['ea', Value.int(5)]]);
  assert.deepEqual(out[0].links[0].attributes, []);
  assert.equal(out[1].name, 'B');
  assert.equal(out[1].statusMessage, 'msg');
  // The inputs are untouched.
  assert.equal(spans()[0].attribute('k'), 'v');
});

test('edits the host would refuse fail with the edit named', () => {
  const needs = new Needs('t', '0').fields(SpanFields.NAME).spanAttributes(AttributeSelection.keys(['k']));
  const refused = (script, message) =>
    assert.throws(() => run(needs, spans(), script), (error) => error instanceof EditError && error.message === message);
  refused((b, e) => e.setName(3, 'x'), 'edit 0 (set-name span 3): out of range: the batch has 3 spans');
  refused((b, e) => { e.dropSpan(0); e.setSpanAttribute(2, 'x'); }, 'edit 1 (set-span-attribute row 2): out of range: the batch has 2 span attribute rows');
  refused((b, e) => e.setStatusMessage(0, 'x'), 'edit 0 (set-status-message span 0): field `status-message` was not declared in needs');
  refused((b, e) => e.setEventName(0, 'x'), 'edit 0 (set-event-name event 0): field `event-names` was not declared in needs');
  refused((b, e) => e.setResourceAttribute(0, 'x'), 'edit 0 (set-resource-attribute row 0): no resource attributes were declared in needs');
  refused((b, e) => { e.setSpanAttribute(0, 'x'); e.removeSpanAttribute(0); }, 'edit 0 (set-span-attribute row 0): span attribute row 0 is both set and removed');
  refused((b, e) => e.addSpanAttribute(9, 'k', 1), 'edit 0 (add-span-attribute span 9 key "k"): out of range: the batch has 3 spans');
  const noAttributes = new Needs('t', '0');
  assert.throws(() => run(noAttributes, spans(), (b, e) => e.addSpanAttribute(0, 'k', 1)),
    /edit 0 \(add-span-attribute span 0 key "k"\): no span attributes were declared in needs/);
  // keys([]) is a selection: adding is allowed.
  const out = run(new Needs('t', '0').spanAttributes(AttributeSelection.keys([])), spans(), (b, e) => e.addSpanAttribute(2, 'x', 1));
  assert.deepEqual(out[2].attributeMap(), { x: 1n });
});

test('malformed records are refused', () => {
  const needs = new Needs('t', '0').fields(SpanFields.NAME);
  const edits = new Edits();
  edits.setName(0, 'abc');
  const { records, strings } = edits.finish();
  assert.throws(() => applyEdits(spans(), needs, { records: records.slice(0, 20), strings }), /not a multiple of 24/);
  assert.throws(() => applyEdits(spans(), needs, { records, strings: strings.slice(0, 1) }), /edit 0: its value \(0\+3\) lies outside the 1-byte strings/);
  assert.throws(() => applyEdits(spans(), needs, { records, strings: new Uint8Array([0xff, 0xfe, 0xfd]) }), /edit 0: its value is not UTF-8/);
  const badOp = records.slice();
  badOp[0] = 99;
  assert.throws(() => applyEdits(spans(), needs, { records: badOp, strings }), /edit 0: unknown op 99/);
  const badKind = records.slice();
  badKind[1] = 1;
  assert.throws(() => applyEdits(spans(), needs, { records: badKind, strings }), /edit 0 \(set-name\): its value kind is 1, but a rename takes a str \(0\)/);
  badKind[1] = 9;
  assert.throws(() => applyEdits(spans(), needs, { records: badKind, strings }), /edit 0 \(set-name\): unknown value kind 9/);
  badKind[1] = 4;
  assert.throws(() => applyEdits(spans(), needs, { records: badKind, strings }), /edit 0 \(set-name\): its value kind is json \(4\), which an edit cannot set/);
});

test('a harness reports init and process failures as the gateway sees them', () => {
  class Refuses {
    static init(config) {
      if (config === 'bad') throw new PluginError('bad config');
      return { plugin: new Refuses(), needs: new Needs('r', '1') };
    }

    process() {
      throw new PluginError('cannot today');
    }
  }
  takeLogs();
  assert.throws(() => new ProcessorHarness(Refuses, 'bad'), (e) => e instanceof PluginCallError && e.message === 'bad config');
  const harness = new ProcessorHarness(Refuses, '');
  assert.throws(() => harness.process(spans()), (e) => e instanceof PluginCallError && e.message === 'cannot today');
  assert.deepEqual(takeLogs(), [], 'expected failures are not logged');
});

test('head sampling: one decision per span, policies deduplicated', () => {
  class EveryOther {
    static init() {
      return { plugin: new EveryOther(), needs: new Needs('s', '1').fields(SpanFields.NAME) };
    }

    sampleHead(batch) {
      return [...batch.spans()].map((span) => (span.index % 2 === 0 ? Decision.keep(span.name === 'a' ? 'first' : 'rest') : Decision.drop));
    }
  }
  const harness = new SamplerHarness(EveryOther, '');
  assert.equal(harness.tail, undefined);
  const decisions = harness.sampleHead(spans());
  assert.deepEqual(decisions, [Decision.keep('first'), Decision.drop, Decision.keep('rest')]);
  assert.deepEqual(harness.exports.sampleHead(harness.batch(spans())), {
    verdicts: new Uint16Array([1, 0, 2]),
    policies: ['first', 'rest'],
  });
  assert.deepEqual(applyDecisions(spans(), decisions).map((s) => s.name), ['a', 'c']);
});

test('a head answer of the wrong length fails the call', () => {
  class One {
    static init() {
      return { plugin: new One(), needs: new Needs('s', '1') };
    }

    sampleHead() {
      return [Decision.drop];
    }
  }
  const harness = new SamplerHarness(One, '');
  assert.throws(() => harness.sampleHead(spans()), /sampleHead returned 1 decisions for 3 spans/);
});

test('tail sampling: one decision per trace, paired with its id; the default keeps all', () => {
  class ByTrace {
    static init() {
      return {
        plugin: new ByTrace(),
        needs: new Needs('s', '1').fields(SpanFields.TRACE_ID),
        tail: { decisionWaitMillis: 5000, maxTraces: 10, maxSpansPerTrace: 100 },
      };
    }

    sampleHead(batch) {
      return Array.from({ length: batch.len }, () => Decision.keep());
    }

    sampleTail(batch) {
      return traceIdsInOrder(batch).map((id) => (id.endsWith('1') ? Decision.keep('errors') : Decision.drop));
    }
  }
  const traced = [1n, 2n, 1n].map((traceId) => new TestSpan({ traceId }));
  const harness = new SamplerHarness(ByTrace, '');
  assert.deepEqual(harness.tail, { decisionWaitMillis: 5000n, maxTraces: 10, maxSpansPerTrace: 100 });
  assert.deepEqual(harness.sampleTail(traced), [
    ['00000000000000000000000000000001', Decision.keep('errors')],
    ['00000000000000000000000000000002', Decision.drop],
  ]);
  delete ByTrace.prototype.sampleTail;
  const defaults = new SamplerHarness(ByTrace, '');
  assert.deepEqual(defaults.sampleTail(traced).map(([, d]) => d), [Decision.keep(), Decision.keep()]);
});

test('metrics: observe then collect', () => {
  class Count {
    static init() {
      return { plugin: new Count(), needs: new Needs('m', '1').fields(SpanFields.SERVICE_NAME) };
    }

    constructor() {
      this.counts = new Map();
    }

    observe(batch) {
      for (const span of batch.spans()) {
        this.counts.set(span.serviceName, (this.counts.get(span.serviceName) ?? 0) + 1);
        log('debug', `saw ${span.serviceName}`);
      }
    }

    collect(now) {
      return [...this.counts].map(([service, n]) => ({
        name: 'spans_total',
        labels: [['service', service]],
        value: { tag: 'counter', val: n },
        exemplar: { traceIdHi: 0n, traceIdLo: 1n, spanId: 2n, value: 1, timeUnixNanos: now },
      }));
    }
  }
  takeLogs();
  const harness = new MetricsHarness(Count, '');
  harness.observe(spans());
  assert.equal(takeLogs().length, 3);
  const points = harness.collect(7n);
  assert.deepEqual(points.map((p) => [p.name, p.help, p.labels, p.value.val]), [
    ['spans_total', '', [['service', 's']], 2],
    ['spans_total', '', [['service', 't']], 1],
  ]);
  assert.equal(points[0].exemplar.timeUnixNanos, 7n);
});
