import assert from 'node:assert/strict';
import { test } from 'node:test';

import { COLUMN_NAMES, COLUMN_WIDTHS, Column, LayoutError, aligned, parseDirectory } from '../src/abi.js';
import { SpanBatch } from '../src/batch.js';
import { BatchBuilder } from '../src/testing/encode.js';

test('widths and names cover every column, as sdk/abi defines them', () => {
  assert.equal(Column.COUNT, 36);
  assert.equal(COLUMN_WIDTHS.length, 36);
  assert.equal(COLUMN_NAMES.length, 36);
  assert.ok(COLUMN_WIDTHS.every((w) => [1, 4, 8, 16].includes(w)));
  assert.equal(COLUMN_NAMES[Column.LINK_ATTRIBUTES + Column.KEYS], 'link-attributes.keys');
  assert.equal(COLUMN_NAMES[Column.SERVICES], 'services');
  assert.equal(COLUMN_NAMES[Column.SPAN_ATTRIBUTES + Column.VALUE], 'span-attributes.value');
  assert.deepEqual(COLUMN_WIDTHS.slice(0, 16), [16, 8, 8, 4, 8, 1, 1, 8, 8, 8, 4, 4, 4, 8, 4, 8]);
});

test('an empty batch is a directory of zeros', () => {
  const batch = new BatchBuilder().finish(0);
  assert.deepEqual(batch.columns, new Uint8Array(Column.DIRECTORY_BYTES));
  assert.deepEqual(Array.from(parseDirectory(batch.columns)), new Array(72).fill(0));
});

test('columns start at multiples of 8 and are padded', () => {
  const builder = new BatchBuilder();
  builder.pushU8(Column.KIND, 2);
  builder.pushU8(Column.STATUS, 1);
  builder.pushU32(Column.SERVICE, 7);
  builder.pushU64(Column.START, 5n);
  const { columns } = builder.finish(1);
  const directory = parseDirectory(columns);
  for (const column of [Column.KIND, Column.STATUS, Column.SERVICE, Column.START]) {
    assert.equal(directory[2 * column] % 8, 0, COLUMN_NAMES[column]);
    assert.equal(directory[2 * column + 1], 1);
  }
  assert.equal(columns.length, Column.DIRECTORY_BYTES + 4 * 8);
  const view = new DataView(columns.buffer);
  assert.equal(view.getUint32(directory[2 * Column.SERVICE], true), 7);
  assert.equal(view.getBigUint64(directory[2 * Column.START], true), 5n);
});

test('short, out-of-range and misaligned directories are refused with the column named', () => {
  assert.throws(() => parseDirectory(new Uint8Array(10)), (error) =>
    error instanceof LayoutError && /10 bytes, shorter than its 288-byte directory/.test(error.message));
  const buffer = new Uint8Array(Column.DIRECTORY_BYTES + 16);
  const words = new Uint32Array(buffer.buffer);
  words[2 * Column.START] = Column.DIRECTORY_BYTES;
  words[2 * Column.START + 1] = 3;
  assert.throws(() => parseDirectory(buffer), /column 7 \(start\) claims 3 elements of 8 bytes at offset 288, outside the 304-byte column buffer/);
  words[2 * Column.START] = Column.DIRECTORY_BYTES + 4;
  words[2 * Column.START + 1] = 1;
  assert.throws(() => parseDirectory(buffer), /column 7 \(start\) starts at offset 292, not a multiple of 8/);
  assert.throws(() => new SpanBatch({ len: 0, columns: new Uint8Array(3), strings: new Uint8Array() }), LayoutError);
});

test('a column buffer that is not 8-aligned in memory is copied, not misread', () => {
  const builder = new BatchBuilder();
  builder.pushU64(Column.START, 11n);
  builder.pushU64(Column.END, 99n);
  const { columns, strings } = builder.finish(1);
  const backing = new Uint8Array(columns.length + 3);
  backing.set(columns, 3);
  const shifted = backing.subarray(3);
  assert.equal(shifted.byteOffset % 8, 3);
  assert.equal(aligned(shifted).byteOffset % 8, 0);
  const batch = new SpanBatch({ len: 1, columns: shifted, strings });
  assert.equal(batch.span(0).durationNanos, 88n);
  assert.equal(aligned(columns), columns, 'aligned input is not copied');
});

test('ids are cut or zero-padded to their width', () => {
  const builder = new BatchBuilder();
  builder.pushId(Column.SPAN_ID, new Uint8Array([1, 2, 3]));
  builder.pushId(Column.SPAN_ID, new Uint8Array(12).fill(9));
  const batch = new SpanBatch(builder.finish(2));
  assert.equal(batch.span(0).spanId, '0102030000000000');
  assert.equal(batch.span(1).spanId, '0909090909090909');
});

test('a string reference outside the arena reads as empty', () => {
  const builder = new BatchBuilder();
  builder.pushRef(Column.NAME, 2, 5);
  builder.addString('abc');
  const batch = new SpanBatch(builder.finish(1));
  assert.equal(batch.span(0).name, '');
  assert.equal(batch.span(5).name, '', 'past the column');
});
