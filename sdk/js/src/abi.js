// The byte layout of `spangate:plugin@0.2.0` (wit/plugin.wit, wit/README.md "Batch
// layout" and "Edit records"), as the Rust crate `sdk/abi` defines it. Everything is
// little-endian; a string reference is a u32 byte offset into the string arena, then a
// u32 byte length.

/** The WIT package version whose layout this is. */
export const WIT_VERSION = '0.2.0';

/** Column numbers (directory positions). */
export const Column = Object.freeze({
  TRACE_ID: 0,
  SPAN_ID: 1,
  PARENT_SPAN_ID: 2,
  SERVICE: 3,
  NAME: 4,
  KIND: 5,
  STATUS: 6,
  START: 7,
  END: 8,
  STATUS_MESSAGE: 9,
  SIZE: 10,
  RESOURCE: 11,
  EVENT_OFFSETS: 12,
  EVENT_NAMES: 13,
  LINK_OFFSETS: 14,
  SERVICES: 15,
  /** First column of the four attribute tables (span, resource, event, link). */
  ATTRIBUTE_TABLES: 16,
  SPAN_ATTRIBUTES: 16,
  RESOURCE_ATTRIBUTES: 21,
  EVENT_ATTRIBUTES: 26,
  LINK_ATTRIBUTES: 31,
  /** Offsets within an attribute table. */
  OWNER_OFFSETS: 0,
  KEY: 1,
  VALUE_KIND: 2,
  VALUE: 3,
  KEYS: 4,
  TABLE_COLUMNS: 5,
  COUNT: 36,
  DIRECTORY_BYTES: 36 * 8,
});

/** Element width in bytes of each column. */
export const COLUMN_WIDTHS = Object.freeze([
  16, 8, 8, 4, 8, 1, 1, 8, 8, 8, 4, 4, 4, 8, 4, 8,
  4, 4, 1, 8, 8,
  4, 4, 1, 8, 8,
  4, 4, 1, 8, 8,
  4, 4, 1, 8, 8,
]);

const TABLE_COLUMN_NAMES = ['owner-offsets', 'key', 'value-kind', 'value', 'keys'];

/** Column names as wit/README.md spells them (for error messages). */
export const COLUMN_NAMES = Object.freeze([
  'trace-id', 'span-id', 'parent-span-id', 'service', 'name', 'kind', 'status', 'start',
  'end', 'status-message', 'size', 'resource', 'event-offsets', 'event-names',
  'link-offsets', 'services',
  ...['span', 'resource', 'event', 'link'].flatMap((table) =>
    TABLE_COLUMN_NAMES.map((column) => `${table}-attributes.${column}`),
  ),
]);

/** Byte values of an attribute's value kind (the WIT `value-kind` cases, in order). */
export const ValueKindCode = Object.freeze({ STR: 0, INT: 1, DOUBLE: 2, BOOL: 3, JSON: 4 });

/** The value-kind names, indexed by their byte value. */
export const VALUE_KIND_NAMES = Object.freeze(['str', 'int', 'double', 'boolean', 'json']);

/** Edit operations (byte 0 of an edit record). */
export const Op = Object.freeze({
  SET_SPAN_ATTRIBUTE: 1,
  REMOVE_SPAN_ATTRIBUTE: 2,
  ADD_SPAN_ATTRIBUTE: 3,
  SET_RESOURCE_ATTRIBUTE: 4,
  REMOVE_RESOURCE_ATTRIBUTE: 5,
  SET_EVENT_ATTRIBUTE: 6,
  REMOVE_EVENT_ATTRIBUTE: 7,
  SET_LINK_ATTRIBUTE: 8,
  REMOVE_LINK_ATTRIBUTE: 9,
  SET_NAME: 10,
  SET_STATUS_MESSAGE: 11,
  SET_EVENT_NAME: 12,
  DROP_SPAN: 13,
});

/** WIT-style names of the ops, indexed by op byte (0 is not an op). */
export const OP_NAMES = Object.freeze([
  undefined,
  'set-span-attribute',
  'remove-span-attribute',
  'add-span-attribute',
  'set-resource-attribute',
  'remove-resource-attribute',
  'set-event-attribute',
  'remove-event-attribute',
  'set-link-attribute',
  'remove-link-attribute',
  'set-name',
  'set-status-message',
  'set-event-name',
  'drop-span',
]);

export const EDIT_RECORD_BYTES = 24;

/** The WIT `span-kind` cases, indexed by the byte value of the `kind` column. */
export const SPAN_KINDS = Object.freeze([
  'unspecified', 'internal', 'server', 'client', 'producer', 'consumer',
]);

/** The WIT `status-code` cases, indexed by the byte value of the `status` column. */
export const STATUS_CODES = Object.freeze(['unset', 'ok', 'error']);

/** A buffer that does not follow the layout. */
export class LayoutError extends Error {
  constructor(message) {
    super(message);
    this.name = 'LayoutError';
  }
}

// Typed-array views read the machine's byte order; wasm and every platform Node runs
// the tests on are little-endian, as the layout is.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
if (!LITTLE_ENDIAN) {
  throw new LayoutError('@spangate/plugin-sdk needs a little-endian platform');
}

/**
 * `bytes` as a Uint8Array whose byteOffset is a multiple of 8, so that typed-array views
 * of its 8-aligned columns can be made. Bindings hand the batch over in a fresh buffer
 * (byteOffset 0), so this copies only unusual inputs (a Node Buffer slice, say).
 * @param {Uint8Array} bytes
 * @returns {Uint8Array}
 */
export function aligned(bytes) {
  if (bytes.byteOffset % 8 === 0) {
    return bytes;
  }
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy;
}

/**
 * Parses a column directory: `[offset, count]` per column, every range checked.
 * @param {Uint8Array} columns the column buffer, 8-aligned (see `aligned`)
 * @returns {Uint32Array} 72 numbers: offset then count, per column
 */
export function parseDirectory(columns) {
  if (columns.length < Column.DIRECTORY_BYTES) {
    throw new LayoutError(
      `the column buffer is ${columns.length} bytes, shorter than its ${Column.DIRECTORY_BYTES}-byte directory`,
    );
  }
  const directory = new Uint32Array(columns.buffer, columns.byteOffset, Column.COUNT * 2);
  const entries = new Uint32Array(Column.COUNT * 2);
  for (let column = 0; column < Column.COUNT; column++) {
    const offset = directory[2 * column];
    const count = directory[2 * column + 1];
    if (count === 0) {
      continue;
    }
    const width = COLUMN_WIDTHS[column];
    if (offset + count * width > columns.length) {
      throw new LayoutError(
        `column ${column} (${COLUMN_NAMES[column]}) claims ${count} elements of ${width} bytes at offset ${offset}, outside the ${columns.length}-byte column buffer`,
      );
    }
    if (offset % 8 !== 0) {
      throw new LayoutError(
        `column ${column} (${COLUMN_NAMES[column]}) starts at offset ${offset}, not a multiple of 8`,
      );
    }
    entries[2 * column] = offset;
    entries[2 * column + 1] = count;
  }
  return entries;
}

/**
 * Decodes an `edits.records` buffer into plain objects (for tests and the harness).
 * @param {Uint8Array} records
 * @returns {{op: number, kind: number, target: number, keyOffset: number, keyLength: number, valueLo: number, valueHi: number}[]}
 */
export function decodeEditRecords(records) {
  if (records.length % EDIT_RECORD_BYTES !== 0) {
    throw new LayoutError(
      `the edit records are ${records.length} bytes, not a multiple of ${EDIT_RECORD_BYTES}`,
    );
  }
  const bytes = aligned(records);
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const out = [];
  for (let i = 0; i < bytes.length / EDIT_RECORD_BYTES; i++) {
    const w = i * 6;
    out.push({
      op: bytes[i * EDIT_RECORD_BYTES],
      kind: bytes[i * EDIT_RECORD_BYTES + 1],
      padding: bytes[i * EDIT_RECORD_BYTES + 2] | (bytes[i * EDIT_RECORD_BYTES + 3] << 8),
      target: words[w + 1],
      keyOffset: words[w + 2],
      keyLength: words[w + 3],
      valueLo: words[w + 4],
      valueHi: words[w + 5],
    });
  }
  return out;
}
