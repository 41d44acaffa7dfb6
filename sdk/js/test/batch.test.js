import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AttributeSelection, Needs, SpanBatch, SpanFields, UndeclaredFieldError, Value, traceIdsInOrder } from '../src/index.js';
import { Column } from '../src/abi.js';
import { TestSpan, encode } from '../src/testing/index.js';

const everything = () =>
  new Needs('t', '0')
    .fields(SpanFields.ALL)
    .spanAttributes(AttributeSelection.all)
    .resourceAttributes(AttributeSelection.all)
    .eventAttributes(AttributeSelection.all)
    .linkAttributes(AttributeSelection.all);

const spans = () => [
  new TestSpan({
    traceId: 0x5b8efff798038103d269b633813fc60cn,
    spanId: 'eee19b7ec3c1b174',
    parentSpanId: 7n,
    serviceName: 'checkout',
    name: 'GET /cart',
    kind: 'server',
    start: 1764000000000000000n,
    end: 1764000000400000000n,
    status: 'error',
    statusMessage: 'boom',
    attributes: [
      ['http.route', '/cart'],
      ['http.status_code', 500],
      ['ratio', 0.25],
      ['sampled', true],
      ['tags', Value.json('["a","b"]')],
      ['big', 2n ** 62n],
      ['neg', -3],
      ['ünï', 'çødé ✓'],
    ],
    resourceAttributes: { 'service.name': 'checkout', 'host.name': 'h1' },
    events: [
      { name: 'exception', attributes: { 'exception.message': 'x', count: 2 } },
      { name: 'retry' },
    ],
    links: [{ attributes: { 'link.kind': 'follows' } }],
  }),
  new TestSpan({
    traceId: 0x5b8efff798038103d269b633813fc60cn,
    spanId: 2n,
    serviceName: 'checkout',
    name: 'SELECT',
    kind: 'client',
    start: 5n,
    end: 3n,
    resourceAttributes: { 'service.name': 'checkout', 'host.name': 'h1' },
    events: [{ name: 'e3', attributes: { k: 'v' } }],
  }),
  new TestSpan({ traceId: 9n, spanId: 3n, serviceName: '', name: '', resourceAttributes: { 'host.name': 'h2' } }),
];

test('every field reads back as the test span had it', () => {
  const needs = everything();
  const batch = new SpanBatch(encode(spans(), needs).batch, needs);
  assert.equal(batch.len, 3);
  const [a, b, c] = batch.spans();
  assert.equal(a.index, 0);
  assert.equal(a.traceId, '5b8efff798038103d269b633813fc60c');
  assert.deepEqual(Array.from(a.traceIdBytes.slice(0, 2)), [0x5b, 0x8e]);
  assert.equal(a.spanId, 'eee19b7ec3c1b174');
  assert.equal(a.parentSpanId, '0000000000000007');
  assert.equal(b.parentSpanId, null);
  assert.equal(a.serviceName, 'checkout');
  assert.equal(b.serviceName, 'checkout');
  assert.equal(c.serviceName, '');
  assert.equal(a.name, 'GET /cart');
  assert.equal(a.kind, 'server');
  assert.equal(b.kind, 'client');
  assert.equal(c.kind, 'unspecified');
  assert.equal(a.startUnixNanos, 1764000000000000000n);
  assert.equal(a.endUnixNanos, 1764000000400000000n);
  assert.equal(a.durationNanos, 400000000n);
  assert.equal(b.durationNanos, 0n, 'end before start counts as 0');
  assert.equal(a.status, 'error');
  assert.equal(b.status, 'unset');
  assert.equal(a.statusMessage, 'boom');
  assert.equal(a.size, spans()[0].estimatedSize());
  assert.ok(a.size > 100);
});

test('attributes read with their rows, kinds and values', () => {
  const needs = everything();
  const batch = new SpanBatch(encode(spans(), needs).batch, needs);
  const attributes = batch.span(0).attributes;
  assert.equal(attributes.length, 8);
  assert.deepEqual(
    attributes.toArray().map((a) => [a.row, a.key, a.kind, a.value]),
    [
      [0, 'http.route', 'str', '/cart'],
      [1, 'http.status_code', 'int', 500n],
      [2, 'ratio', 'double', 0.25],
      [3, 'sampled', 'boolean', true],
      [4, 'tags', 'json', '["a","b"]'],
      [5, 'big', 'int', 2n ** 62n],
      [6, 'neg', 'int', -3n],
      [7, 'ünï', 'str', 'çødé ✓'],
    ],
  );
  assert.equal(attributes.at(7).byteLength, new TextEncoder().encode('çødé ✓').length);
  assert.equal(attributes.at(1).byteLength, 0);
  assert.equal(attributes.get('http.status_code'), 500n);
  assert.equal(attributes.getStr('http.status_code'), undefined);
  assert.equal(attributes.getStr('http.route'), '/cart');
  assert.equal(attributes.get('missing'), undefined);
  assert.equal(attributes.find('sampled').row, 3);
  assert.equal(batch.span(1).attributes.length, 0);
  assert.equal(batch.span(2).attributes.start, 8, 'rows are global');
});

test('resources are shared by spans with the same service and attributes', () => {
  const needs = everything();
  const batch = new SpanBatch(encode(spans(), needs).batch, needs);
  const [a, b, c] = batch.spans();
  assert.equal(a.resourceIndex, 0);
  assert.equal(b.resourceIndex, 0);
  assert.equal(c.resourceIndex, 1);
  assert.deepEqual(a.resourceAttributes.toArray().map((x) => [x.row, x.key, x.value]), [
    [0, 'service.name', 'checkout'],
    [1, 'host.name', 'h1'],
  ]);
  assert.deepEqual(c.resourceAttributes.toArray().map((x) => [x.row, x.value]), [[2, 'h2']]);
});

test('events and links read with global indexes', () => {
  const needs = everything();
  const batch = new SpanBatch(encode(spans(), needs).batch, needs);
  const events = batch.span(0).events;
  assert.deepEqual(events.map((e) => [e.index, e.name]), [[0, 'exception'], [1, 'retry']]);
  assert.deepEqual(events[0].attributes.toArray().map((a) => [a.row, a.key, a.value]), [
    [0, 'exception.message', 'x'],
    [1, 'count', 2n],
  ]);
  assert.equal(events[1].attributes.length, 0);
  assert.deepEqual(batch.span(1).events.map((e) => [e.index, e.name, e.attributes.get('k')]), [[2, 'e3', 'v']]);
  assert.deepEqual(batch.span(2).events, []);
  const links = batch.span(0).links;
  assert.equal(links.length, 1);
  assert.equal(links[0].index, 0);
  assert.equal(links[0].attributes.get('link.kind'), 'follows');
  assert.deepEqual(batch.span(1).links, []);
});

test('only declared columns are sent', () => {
  const needs = new Needs('t', '0').fields(SpanFields.NAME).spanAttributes(AttributeSelection.keys(['http.route']));
  const batch = new SpanBatch(encode(spans(), needs).batch, needs);
  for (let column = 0; column < Column.COUNT; column++) {
    const expected = [Column.NAME, Column.SPAN_ATTRIBUTES + Column.OWNER_OFFSETS, Column.SPAN_ATTRIBUTES + Column.KEY,
      Column.SPAN_ATTRIBUTES + Column.VALUE_KIND, Column.SPAN_ATTRIBUTES + Column.VALUE, Column.SPAN_ATTRIBUTES + Column.KEYS].includes(column);
    assert.equal(batch.count(column) > 0, expected, `column ${column}`);
  }
  assert.deepEqual(batch.span(0).attributes.toArray().map((a) => a.key), ['http.route']);
});

test('selections pick rows: keys (json too), all-strings, all', () => {
  const read = (selection) => {
    const needs = new Needs('t', '0').spanAttributes(selection);
    const batch = new SpanBatch(encode(spans(), needs).batch, needs);
    return batch.span(0).attributes.toArray().map((a) => a.key);
  };
  assert.deepEqual(read(AttributeSelection.keys(['tags', 'ratio', 'nope'])), ['ratio', 'tags']);
  assert.deepEqual(read(AttributeSelection.allStrings), ['http.route', 'ünï']);
  assert.equal(read(AttributeSelection.all).length, 8);
  assert.deepEqual(read(AttributeSelection.keys([])), []);
});

test('reading an undeclared field is an error naming it', () => {
  const needs = new Needs('t', '0').fields(SpanFields.NAME);
  const batch = new SpanBatch(encode(spans(), needs).batch, needs);
  const span = batch.span(0);
  assert.equal(span.name, 'GET /cart');
  const cases = [
    [() => span.serviceName, /span\.serviceName: the span field `service-name` was not declared .*SpanFields\.SERVICE_NAME/],
    [() => span.durationNanos, /span\.durationNanos: the span field `times`/],
    [() => span.startUnixNanos, /`times`/],
    [() => span.status, /span\.status: the span field `status`/],
    [() => span.traceId, /`trace-id`/],
    [() => span.spanId, /`span-id`/],
    [() => span.parentSpanId, /`parent-span-id`/],
    [() => span.kind, /`kind`/],
    [() => span.statusMessage, /`status-message`/],
    [() => span.size, /`size`/],
    [() => span.attributes, /span\.attributes: no span attributes were declared/],
    [() => span.resourceAttributes, /no resource attributes/],
    [() => span.events, /span\.events: neither the span field `event-names` nor event attributes/],
    [() => span.links, /no link attributes/],
  ];
  for (const [read, message] of cases) {
    assert.throws(read, (error) => error instanceof UndeclaredFieldError && message.test(error.message));
  }
});

test('event names and event attributes are declared separately', () => {
  const needs = new Needs('t', '0').eventAttributes(AttributeSelection.all);
  const batch = new SpanBatch(encode(spans(), needs).batch, needs);
  const [event] = batch.span(0).events;
  assert.equal(event.attributes.get('count'), 2n);
  assert.throws(() => event.name, /event\.name: the span field `event-names`/);
  const names = new Needs('t', '0').fields(SpanFields.EVENT_NAMES);
  const named = new SpanBatch(encode(spans(), names).batch, names);
  assert.deepEqual(named.span(0).events.map((e) => e.name), ['exception', 'retry']);
  assert.throws(() => named.span(0).events[0].attributes, /no event attributes/);
});

test('a batch without needs reads whatever the columns hold, defaults elsewhere', () => {
  const needs = new Needs('t', '0').fields(SpanFields.NAME);
  const batch = new SpanBatch(encode(spans(), needs).batch);
  assert.equal(batch.span(0).name, 'GET /cart');
  assert.equal(batch.span(0).serviceName, '');
  assert.equal(batch.span(0).durationNanos, 0n);
  assert.equal(batch.span(0).status, 'unset');
  assert.equal(batch.span(0).attributes.length, 0);
  assert.equal(batch.span(99).name, '', 'an index past the end reads defaults');
});

test('distinct trace ids in order of first appearance', () => {
  const needs = new Needs('t', '0').fields(SpanFields.TRACE_ID);
  const ids = [1n, 1n, 2n, 1n, 3n, 2n].map((traceId) => new TestSpan({ traceId }));
  const batch = new SpanBatch(encode(ids, needs).batch, needs);
  assert.deepEqual(traceIdsInOrder(batch), [1n, 2n, 3n].map((n) => n.toString(16).padStart(32, '0')));
});

test('an empty batch has no spans', () => {
  const needs = everything();
  const batch = new SpanBatch(encode([], needs).batch, needs);
  assert.equal(batch.len, 0);
  assert.deepEqual([...batch.spans()], []);
});
