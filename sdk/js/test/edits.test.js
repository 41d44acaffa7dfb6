import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Edits, Value, decodeEdits } from '../src/index.js';
import { EDIT_RECORD_BYTES, Op } from '../src/abi.js';

test('each builder writes its op in order, decodable back', () => {
  const edits = new Edits();
  assert.equal(edits.length, 0);
  edits.setSpanAttribute(1, 2);
  edits.removeSpanAttribute(3);
  edits.addSpanAttribute(4, 'k', true);
  edits.setResourceAttribute(5, 'r');
  edits.removeResourceAttribute(6);
  edits.setEventAttribute(7, 0.5);
  edits.removeEventAttribute(8);
  edits.setLinkAttribute(9, -1n);
  edits.removeLinkAttribute(10);
  edits.setName(11, 'n');
  edits.setStatusMessage(12, 'm');
  edits.setEventName(13, 'e');
  edits.dropSpan(14);
  assert.equal(edits.length, 13);
  assert.deepEqual(edits.toArray(), [
    { op: 'set-span-attribute', target: 1, value: Value.int(2) },
    { op: 'remove-span-attribute', target: 3 },
    { op: 'add-span-attribute', target: 4, key: 'k', value: Value.bool(true) },
    { op: 'set-resource-attribute', target: 5, value: Value.str('r') },
    { op: 'remove-resource-attribute', target: 6 },
    { op: 'set-event-attribute', target: 7, value: Value.double(0.5) },
    { op: 'remove-event-attribute', target: 8 },
    { op: 'set-link-attribute', target: 9, value: Value.int(-1) },
    { op: 'remove-link-attribute', target: 10 },
    { op: 'set-name', target: 11, value: Value.str('n') },
    { op: 'set-status-message', target: 12, value: Value.str('m') },
    { op: 'set-event-name', target: 13, value: Value.str('e') },
    { op: 'drop-span', target: 14 },
  ]);
  edits.clear();
  assert.equal(edits.length, 0);
  assert.deepEqual(edits.finish(), { records: new Uint8Array(0), strings: new Uint8Array(0) });
});

test('records have the documented bytes', () => {
  const edits = new Edits();
  edits.addSpanAttribute(0x01020304, 'ké', 'v');
  edits.setSpanAttribute(7, Value.double(1.5));
  edits.setSpanAttribute(8, -2n);
  edits.setSpanAttribute(9, false);
  const { records, strings } = edits.finish();
  assert.equal(records.length, 4 * EDIT_RECORD_BYTES);
  assert.deepEqual(strings, new TextEncoder().encode('kév'));
  const view = new DataView(records.buffer, records.byteOffset);
  // add-span-attribute: op 3, kind str 0, zero padding, target, key ref, value ref
  assert.deepEqual(Array.from(records.subarray(0, 4)), [Op.ADD_SPAN_ATTRIBUTE, 0, 0, 0]);
  assert.equal(view.getUint32(4, true), 0x01020304);
  assert.equal(view.getUint32(8, true), 0);
  assert.equal(view.getUint32(12, true), 3, 'key length in UTF-8 bytes');
  assert.equal(view.getUint32(16, true), 3);
  assert.equal(view.getUint32(20, true), 1);
  // set-span-attribute double 1.5: kind 2, the f64's bits
  assert.deepEqual(Array.from(records.subarray(24, 28)), [Op.SET_SPAN_ATTRIBUTE, 2, 0, 0]);
  assert.equal(view.getFloat64(24 + 16, true), 1.5);
  assert.deepEqual(Array.from(records.subarray(48, 50)), [Op.SET_SPAN_ATTRIBUTE, 1]);
  assert.equal(view.getBigInt64(48 + 16, true), -2n);
  assert.deepEqual(Array.from(records.subarray(72, 74)), [Op.SET_SPAN_ATTRIBUTE, 3]);
  assert.equal(view.getBigUint64(72 + 16, true), 0n);
});

test('values: numbers are ints when integral, doubles otherwise; Value makes it explicit', () => {
  const edits = new Edits();
  for (const value of [3, 3.5, Value.double(3), 2n ** 63n - 1n, -(2n ** 63n), Number.MAX_SAFE_INTEGER, NaN, Value.str('x')]) {
    edits.setSpanAttribute(0, value);
  }
  assert.deepEqual(edits.toArray().map((e) => [e.value.kind, e.value.value]), [
    ['int', 3n],
    ['double', 3.5],
    ['double', 3],
    ['int', 2n ** 63n - 1n],
    ['int', -(2n ** 63n)],
    ['int', BigInt(Number.MAX_SAFE_INTEGER)],
    ['double', NaN],
    ['str', 'x'],
  ]);
});

test('bad arguments are refused naming the method', () => {
  const edits = new Edits();
  assert.throws(() => edits.setName(-1, 'x'), /setName: the index must be an integer/);
  assert.throws(() => edits.dropSpan(1.5), /dropSpan: the index/);
  assert.throws(() => edits.setName(0, 5), /setName: needs a string, not the number 5/);
  assert.throws(() => edits.setSpanAttribute(0, 2n ** 63n), /does not fit in a 64-bit signed integer/);
  assert.throws(() => edits.setSpanAttribute(0, null), /setSpanAttribute's value must be a string, boolean, bigint, number or Value, not null/);
  assert.throws(() => edits.setSpanAttribute(0, Value.json('[]')), /cannot write json values/);
  assert.throws(() => edits.addSpanAttribute(0, '', 1), /the key must be a non-empty string/);
  assert.equal(edits.length, 0, 'a refused edit leaves nothing behind');
});

test('buffers grow past their first size', () => {
  const edits = new Edits();
  const long = 'ü'.repeat(1000);
  for (let i = 0; i < 100; i++) {
    edits.setName(i, `${long}${i}`);
  }
  const decoded = edits.toArray();
  assert.equal(decoded.length, 100);
  assert.equal(decoded[99].value.value, `${long}99`);
  assert.equal(decoded[0].target, 0);
});

test('decodeEdits refuses malformed answers', () => {
  assert.throws(() => decodeEdits({ records: new Uint8Array(25), strings: new Uint8Array() }), /not a multiple of 24/);
  const edits = new Edits();
  edits.setName(0, 'abc');
  const { records } = edits.finish();
  assert.throws(() => decodeEdits({ records, strings: new Uint8Array(1) }), /outside the 1-byte strings/);
});
