// Per-span reading of a column batch (wit/README.md, "Batch layout").
//
// The host sends a batch as two byte buffers: `columns` (a directory of 36
// (offset, count) entries, then the columns, each 8-aligned) and `strings` (the UTF-8
// arena string references point into). `SpanBatch` keeps them as they arrived, makes
// typed-array views of the columns it is asked about, and hands out `SpanView`s whose
// getters index those views: nothing is decoded until it is read, and each distinct
// attribute key or service name is decoded once per batch.
//
// Reading a field the plugin did not declare in its needs throws an error naming the
// field (in the native harness and in wasm alike): undeclared columns arrive empty, so
// the read would otherwise silently see defaults.

import {
  Column,
  COLUMN_WIDTHS,
  SPAN_KINDS,
  STATUS_CODES,
  VALUE_KIND_NAMES,
  ValueKindCode,
  aligned,
  parseDirectory,
} from './abi.js';
import { SpanFields, fieldName } from './needs.js';

const EMPTY_U8 = new Uint8Array(0);
const EMPTY_U32 = new Uint32Array(0);
const EMPTY_U64 = new BigUint64Array(0);
const EMPTY_I64 = new BigInt64Array(0);
const EMPTY_F64 = new Float64Array(0);

const decoder = new TextDecoder();

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

function hex(bytes, start, end) {
  let out = '';
  for (let i = start; i < end; i++) {
    out += HEX[bytes[i]];
  }
  return out;
}

/** Reading a field the plugin did not declare. */
export class UndeclaredFieldError extends Error {
  constructor(message) {
    super(message);
    this.name = 'UndeclaredFieldError';
  }
}

/** A batch of spans as the host sent it, with per-span accessors. */
export class SpanBatch {
  /**
   * @param {{len: number, columns: Uint8Array, strings: Uint8Array}} raw the WIT
   *   `span-batch` as the bindings hand it over
   * @param {import('./needs.js').Needs | null} [needs] the plugin's needs: reading what
   *   they do not declare throws. `null` reads everything the columns hold.
   */
  constructor(raw, needs = null) {
    /** Number of spans. */
    this.len = raw.len >>> 0;
    this.raw = raw;
    this.needs = needs;
    const columns = aligned(raw.columns);
    this._columns = columns;
    this._directory = parseDirectory(columns);
    this._strings = raw.strings;
    this._views = new Array(Column.COUNT).fill(null);
    this._tables = [null, null, null, null];
    this._services = null;
    /** The arena decoded whole when it is ASCII (null: it is not), made on first use. */
    this._arenaText = undefined;
    // What the getters check (bits of SpanFields; attribute kinds selected), and the
    // span columns as typed-array views, made once per batch: inside a component every
    // function call and allocation per span costs (an interpreter runs the code), so
    // the getters read these fields directly.
    this._fields = needs === null ? SpanFields.ALL : needs.spanFields;
    this._spanAttributes = needs === null || needs.spanAttributeSelection.tag !== 'none';
    this._traceIds = this._view(Column.TRACE_ID);
    this._serviceIndex = this._view(Column.SERVICE);
    this._names = this._view(Column.NAME);
    this._kinds = this._view(Column.KIND);
    this._statuses = this._view(Column.STATUS);
    this._starts = this._view(Column.START);
    this._ends = this._view(Column.END);
    this._sizes = this._view(Column.SIZE);
  }

  get length() {
    return this.len;
  }

  /** Span `index` (a view; an index past the end reads defaults). */
  span(index) {
    return new SpanView(this, index);
  }

  /** Every span, in batch order: `for (const span of batch.spans()) { ... }`. */
  spans() {
    return new Spans(this);
  }

  [Symbol.iterator]() {
    return new Spans(this);
  }

  /** Elements in column `column` (0 when absent). */
  count(column) {
    return this._directory[2 * column + 1];
  }

  /** The raw bytes of column `column` (for column-wise code). */
  columnBytes(column) {
    const offset = this._directory[2 * column];
    const count = this._directory[2 * column + 1];
    return this._columns.subarray(offset, offset + count * COLUMN_WIDTHS[column]);
  }

  /** The string arena. */
  get strings() {
    return this._strings;
  }

  /**
   * The UTF-8 text at `offset`/`length` in the arena ("" when outside it).
   * @param {number} offset
   * @param {number} length
   */
  text(offset, length) {
    if (!length) {
      return '';
    }
    const end = offset + length;
    if (end > this._strings.length) {
      return '';
    }
    // Most arenas are ASCII: decoded once, each string is then a substring (no decoder
    // call per string). Valid UTF-8 decodes to as many UTF-16 units as bytes only when
    // it is all ASCII.
    let arena = this._arenaText;
    if (arena === undefined) {
      const whole = decoder.decode(this._strings);
      arena = whole.length === this._strings.length ? whole : null;
      this._arenaText = arena;
    }
    return arena !== null ? arena.substring(offset, end) : decoder.decode(this._strings.subarray(offset, end));
  }

  _view(column) {
    let view = this._views[column];
    if (view !== null) {
      return view;
    }
    const offset = this._directory[2 * column];
    const count = this._directory[2 * column + 1];
    const width = COLUMN_WIDTHS[column];
    const buffer = this._columns.buffer;
    const start = this._columns.byteOffset + offset;
    switch (VIEW_KINDS[column]) {
      case 'bytes':
        view = count === 0 ? EMPTY_U8 : new Uint8Array(buffer, start, count * width);
        break;
      case 'u32':
        view = count === 0 ? EMPTY_U32 : new Uint32Array(buffer, start, count);
        break;
      case 'u64':
        view = count === 0 ? EMPTY_U64 : new BigUint64Array(buffer, start, count);
        break;
      default:
        // String references (and the attribute value column): u32 pairs.
        view = count === 0 ? EMPTY_U32 : new Uint32Array(buffer, start, count * 2);
    }
    this._views[column] = view;
    return view;
  }

  _table(which) {
    let table = this._tables[which];
    if (table === null) {
      table = new AttributeTable(this, Column.ATTRIBUTE_TABLES + which * Column.TABLE_COLUMNS);
      this._tables[which] = table;
    }
    return table;
  }

  _service(index) {
    if (this._services === null) {
      this._services = new Array(this.count(Column.SERVICES)).fill(null);
    }
    if (index >= this._services.length) {
      return '';
    }
    let name = this._services[index];
    if (name === null) {
      const refs = this._view(Column.SERVICES);
      name = this.text(refs[2 * index], refs[2 * index + 1]);
      this._services[index] = name;
    }
    return name;
  }

  /** Throws unless the needs declare every bit of `bits`. */
  _field(bits, accessor) {
    if ((this._fields & bits) !== bits) {
      this._undeclared(bits, accessor);
    }
  }

  _undeclared(bits, accessor) {
    throw new UndeclaredFieldError(
      `${accessor}: the span field \`${fieldName(bits)}\` was not declared in the plugin's needs (add SpanFields.${constantName(bits)} to Needs.fields)`,
    );
  }

  /** Throws unless attributes of `kind` were selected. */
  _attributes(kind, accessor) {
    const needs = this.needs;
    if (needs === null) {
      return;
    }
    const selection = {
      span: needs.spanAttributeSelection,
      resource: needs.resourceAttributeSelection,
      event: needs.eventAttributeSelection,
      link: needs.linkAttributeSelection,
    }[kind];
    if (selection.tag === 'none') {
      throw new UndeclaredFieldError(
        `${accessor}: no ${kind} attributes were declared in the plugin's needs (set Needs.${kind}Attributes)`,
      );
    }
  }
}

/** How each column is viewed: bytes (u8 and ids), u32, u64 or u32 pairs. */
const VIEW_KINDS = COLUMN_WIDTHS.map((width, column) => {
  if (width === 1 || width === 16 || column === Column.SPAN_ID || column === Column.PARENT_SPAN_ID) {
    return 'bytes';
  }
  if (width === 4) {
    return 'u32';
  }
  return column === Column.START || column === Column.END ? 'u64' : 'pairs';
});

function constantName(bits) {
  return Object.keys(SpanFields).find((name) => SpanFields[name] === bits) ?? String(bits);
}

/** Iterator over a batch's spans. */
class Spans {
  constructor(batch) {
    this.batch = batch;
    this.next_ = 0;
    // One result object for the whole loop (for-of reads it at once).
    this.result = { done: false, value: undefined };
  }

  next() {
    const result = this.result;
    if (this.next_ >= this.batch.len) {
      result.done = true;
      result.value = undefined;
    } else {
      result.value = new SpanView(this.batch, this.next_++);
    }
    return result;
  }

  [Symbol.iterator]() {
    return this;
  }
}

/** One span of a batch: the batch and an index, read column by column. */
export class SpanView {
  constructor(batch, index) {
    this.batch = batch;
    /** The span's index in the batch: what span edits address. */
    this.index = index;
  }

  /** The trace id as 32 lowercase hex digits. */
  get traceId() {
    this.batch._field(SpanFields.TRACE_ID, 'span.traceId');
    const bytes = this.batch._view(Column.TRACE_ID);
    const start = this.index * 16;
    return start + 16 <= bytes.length ? hex(bytes, start, start + 16) : '0'.repeat(32);
  }

  /** The 16 trace id bytes as on the wire (a view into the batch). */
  get traceIdBytes() {
    this.batch._field(SpanFields.TRACE_ID, 'span.traceIdBytes');
    const bytes = this.batch._view(Column.TRACE_ID);
    const start = this.index * 16;
    return start + 16 <= bytes.length ? bytes.subarray(start, start + 16) : new Uint8Array(16);
  }

  /** The span id as 16 lowercase hex digits. */
  get spanId() {
    this.batch._field(SpanFields.SPAN_ID, 'span.spanId');
    return idHex(this.batch._view(Column.SPAN_ID), this.index);
  }

  /** The parent span id as 16 hex digits; `null` for a root span. */
  get parentSpanId() {
    this.batch._field(SpanFields.PARENT_SPAN_ID, 'span.parentSpanId');
    const id = idHex(this.batch._view(Column.PARENT_SPAN_ID), this.index);
    return id === '0000000000000000' ? null : id;
  }

  get serviceName() {
    const batch = this.batch;
    if ((batch._fields & SpanFields.SERVICE_NAME) === 0) {
      batch._undeclared(SpanFields.SERVICE_NAME, 'span.serviceName');
    }
    const service = batch._serviceIndex[this.index];
    if (service === undefined) {
      return '';
    }
    const services = batch._services;
    const cached = services === null ? undefined : services[service];
    return cached === undefined || cached === null ? batch._service(service) : cached;
  }

  get name() {
    const batch = this.batch;
    if ((batch._fields & SpanFields.NAME) === 0) {
      batch._undeclared(SpanFields.NAME, 'span.name');
    }
    const at = 2 * this.index;
    const names = batch._names;
    const length = names[at + 1];
    return length ? batch.text(names[at], length) : '';
  }

  /** 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer' */
  get kind() {
    const batch = this.batch;
    if ((batch._fields & SpanFields.KIND) === 0) {
      batch._undeclared(SpanFields.KIND, 'span.kind');
    }
    return SPAN_KINDS[batch._kinds[this.index]] ?? 'unspecified';
  }

  /** Start, Unix nanoseconds (bigint). */
  get startUnixNanos() {
    const batch = this.batch;
    if ((batch._fields & SpanFields.TIMES) === 0) {
      batch._undeclared(SpanFields.TIMES, 'span.startUnixNanos');
    }
    return batch._starts[this.index] ?? 0n;
  }

  /** End, Unix nanoseconds (bigint). */
  get endUnixNanos() {
    const batch = this.batch;
    if ((batch._fields & SpanFields.TIMES) === 0) {
      batch._undeclared(SpanFields.TIMES, 'span.endUnixNanos');
    }
    return batch._ends[this.index] ?? 0n;
  }

  /** End minus start in nanoseconds (bigint), 0n when the end is before the start. */
  get durationNanos() {
    const batch = this.batch;
    if ((batch._fields & SpanFields.TIMES) === 0) {
      batch._undeclared(SpanFields.TIMES, 'span.durationNanos');
    }
    const start = batch._starts[this.index];
    const end = batch._ends[this.index];
    return start !== undefined && end !== undefined && end > start ? end - start : 0n;
  }

  /** 'unset' | 'ok' | 'error' */
  get status() {
    const batch = this.batch;
    if ((batch._fields & SpanFields.STATUS) === 0) {
      batch._undeclared(SpanFields.STATUS, 'span.status');
    }
    return STATUS_CODES[batch._statuses[this.index]] ?? 'unset';
  }

  get statusMessage() {
    const batch = this.batch;
    batch._field(SpanFields.STATUS_MESSAGE, 'span.statusMessage');
    return refText(batch, batch._view(Column.STATUS_MESSAGE), this.index);
  }

  /** The host's encoded size of the span in bytes. */
  get size() {
    this.batch._field(SpanFields.SIZE, 'span.size');
    const sizes = this.batch._view(Column.SIZE);
    return this.index < sizes.length ? sizes[this.index] : 0;
  }

  /** The span's selected attributes. */
  get attributes() {
    const batch = this.batch;
    if (!batch._spanAttributes) {
      batch._attributes('span', 'span.attributes');
    }
    const table = batch._tables[0] ?? batch._table(0);
    return table.owner(this.index);
  }

  /** Index of the span's resource (the owner in the resource attribute table). */
  get resourceIndex() {
    this.batch._attributes('resource', 'span.resourceIndex');
    const resources = this.batch._view(Column.RESOURCE);
    return this.index < resources.length ? resources[this.index] : 0;
  }

  /** The selected attributes of the span's resource (shared by the spans of that resource). */
  get resourceAttributes() {
    const batch = this.batch;
    batch._attributes('resource', 'span.resourceAttributes');
    const resources = batch._view(Column.RESOURCE);
    const table = batch._table(1);
    return this.index < resources.length ? table.owner(resources[this.index]) : table.empty();
  }

  /** The span's events (needs event names or event attributes declared). */
  get events() {
    const batch = this.batch;
    const needs = batch.needs;
    if (
      needs !== null &&
      (needs.spanFields & SpanFields.EVENT_NAMES) === 0 &&
      needs.eventAttributeSelection.tag === 'none'
    ) {
      throw new UndeclaredFieldError(
        "span.events: neither the span field `event-names` nor event attributes were declared in the plugin's needs",
      );
    }
    const events = Math.max(batch.count(Column.EVENT_NAMES), batch._table(2).owners);
    const [start, end] = clampedRange(batch._view(Column.EVENT_OFFSETS), this.index, events);
    const out = [];
    for (let event = start; event < end; event++) {
      out.push(new EventView(batch, event));
    }
    return out;
  }

  /** The span's links (needs link attributes declared). */
  get links() {
    const batch = this.batch;
    batch._attributes('link', 'span.links');
    const table = batch._table(3);
    const [start, end] = clampedRange(batch._view(Column.LINK_OFFSETS), this.index, table.owners);
    const out = [];
    for (let link = start; link < end; link++) {
      out.push(new LinkView(batch, link));
    }
    return out;
  }
}

function idHex(bytes, index) {
  const start = index * 8;
  return start + 8 <= bytes.length ? hex(bytes, start, start + 8) : '0000000000000000';
}

function refText(batch, refs, index) {
  const at = 2 * index;
  return at + 1 < refs.length ? batch.text(refs[at], refs[at + 1]) : '';
}

/** `offsets[owner]..offsets[owner + 1]` cut to `0..limit`; empty when absent or decreasing. */
function clampedRange(offsets, owner, limit) {
  if (owner + 1 >= offsets.length) {
    return [0, 0];
  }
  const start = offsets[owner];
  const end = offsets[owner + 1];
  if (start > end) {
    return [0, 0];
  }
  return [Math.min(start, limit), Math.min(end, limit)];
}

/** An event of a span. */
export class EventView {
  constructor(batch, index) {
    this.batch = batch;
    /** Global event index in the batch: what `setEventName` addresses. */
    this.index = index;
  }

  get name() {
    const batch = this.batch;
    batch._field(SpanFields.EVENT_NAMES, 'event.name');
    return refText(batch, batch._view(Column.EVENT_NAMES), this.index);
  }

  get attributes() {
    this.batch._attributes('event', 'event.attributes');
    return this.batch._table(2).owner(this.index);
  }
}

/** A link of a span. */
export class LinkView {
  constructor(batch, index) {
    this.batch = batch;
    /** Global link index in the batch. */
    this.index = index;
  }

  get attributes() {
    this.batch._attributes('link', 'link.attributes');
    return this.batch._table(3).owner(this.index);
  }
}

/** One attribute table of a batch: five columns starting at `first`. */
class AttributeTable {
  constructor(batch, first) {
    this.batch = batch;
    this.ownerOffsets = batch._view(first + Column.OWNER_OFFSETS);
    this.keyIndex = batch._view(first + Column.KEY);
    this.kinds = batch._view(first + Column.VALUE_KIND);
    this.keyRefs = batch._view(first + Column.KEYS);
    this.keyCache = new Array(batch.count(first + Column.KEYS)).fill(null);
    this.rows = Math.min(this.keyIndex.length, this.kinds.length, batch.count(first + Column.VALUE));
    this.owners = Math.max(this.ownerOffsets.length - 1, 0);
    // The value column: string references as u32 pairs, ints, doubles and booleans as
    // 8 bytes; three views of the same bytes.
    const count = batch.count(first + Column.VALUE);
    if (count === 0) {
      this.valueWords = EMPTY_U32;
      this.valueInts = EMPTY_I64;
      this.valueDoubles = EMPTY_F64;
    } else {
      const start = batch._columns.byteOffset + batch._directory[2 * (first + Column.VALUE)];
      const buffer = batch._columns.buffer;
      this.valueWords = new Uint32Array(buffer, start, count * 2);
      this.valueInts = new BigInt64Array(buffer, start, count);
      this.valueDoubles = new Float64Array(buffer, start, count);
    }
  }

  /** The attributes of owner `owner`; none when the offsets are absent or decreasing. */
  owner(owner) {
    const offsets = this.ownerOffsets;
    let start = offsets[owner];
    let end = offsets[owner + 1];
    if (end === undefined || start > end) {
      start = 0;
      end = 0;
    } else if (end > this.rows) {
      end = this.rows;
      start = Math.min(start, end);
    }
    return new Attributes(this, start, end);
  }

  empty() {
    return new Attributes(this, 0, 0);
  }

  key(row) {
    const index = this.keyIndex[row];
    const key = this.keyCache[index];
    return key === null ? this.decodeKey(index) : (key ?? '');
  }

  decodeKey(index) {
    const key = this.batch.text(this.keyRefs[2 * index], this.keyRefs[2 * index + 1]);
    this.keyCache[index] = key;
    return key;
  }

  kind(row) {
    return VALUE_KIND_NAMES[this.kinds[row]] ?? 'str';
  }

  value(row) {
    switch (this.kinds[row]) {
      case ValueKindCode.INT:
        return this.valueInts[row];
      case ValueKindCode.DOUBLE:
        return this.valueDoubles[row];
      case ValueKindCode.BOOL:
        return this.valueWords[2 * row] !== 0 || this.valueWords[2 * row + 1] !== 0;
      default:
        return this.batch.text(this.valueWords[2 * row], this.valueWords[2 * row + 1]);
    }
  }

  /** UTF-8 byte length of a str or json value (0 for other kinds). */
  byteLength(row) {
    const kind = this.kinds[row];
    return kind === ValueKindCode.STR || kind === ValueKindCode.JSON ? this.valueWords[2 * row + 1] : 0;
  }
}

/**
 * The attributes of one owner (span, resource, event or link), in row order. Iterable;
 * `get(key)` finds a value.
 */
export class Attributes {
  constructor(table, start, end) {
    this._table = table;
    /** First row (global index in the table). */
    this.start = start;
    /** One past the last row. */
    this.end = end;
  }

  get length() {
    return this.end - this.start;
  }

  /** Attribute `i` of this owner (0-based). */
  at(i) {
    const row = this.start + i;
    return row < this.end ? new Attribute(this._table, row) : undefined;
  }

  /** The first attribute named `key`, or undefined. */
  find(key) {
    const table = this._table;
    for (let row = this.start; row < this.end; row++) {
      if (table.key(row) === key) {
        return new Attribute(table, row);
      }
    }
    return undefined;
  }

  /** The value of the first attribute named `key` (see `Attribute.value`), or undefined. */
  get(key) {
    const table = this._table;
    for (let row = this.start; row < this.end; row++) {
      if (table.key(row) === key) {
        return table.value(row);
      }
    }
    return undefined;
  }

  /** The value of `key` if it is a string (`str` kind), else undefined. */
  getStr(key) {
    const attribute = this.find(key);
    return attribute !== undefined && attribute.kind === 'str' ? attribute.value : undefined;
  }

  [Symbol.iterator]() {
    return new AttributeIterator(this._table, this.start, this.end);
  }

  toArray() {
    return [...this];
  }
}

class AttributeIterator {
  constructor(table, start, end) {
    this.table = table;
    this.row = start;
    this.end = end;
    this.result = { done: false, value: undefined };
  }

  next() {
    const result = this.result;
    if (this.row >= this.end) {
      result.done = true;
      result.value = undefined;
    } else {
      result.value = new Attribute(this.table, this.row++);
    }
    return result;
  }

  [Symbol.iterator]() {
    return this;
  }
}

/** One attribute row. */
export class Attribute {
  constructor(table, row) {
    this._table = table;
    /** Global row index in its attribute table: what attribute edits address. */
    this.row = row;
    // Key and kind are plain fields (read by nearly every plugin; a getter is a call);
    // the value is decoded only when read.
    const index = table.keyIndex[row];
    const key = table.keyCache[index];
    /** The attribute's key. */
    this.key = key === null ? table.decodeKey(index) : (key ?? '');
    /** 'str' | 'int' | 'double' | 'boolean' | 'json' */
    this.kind = VALUE_KIND_NAMES[table.kinds[row]] ?? 'str';
  }

  /**
   * The value: a string (`str`, and `json` as its JSON text), a bigint (`int`), a
   * number (`double`) or a boolean.
   */
  get value() {
    return this._table.value(this.row);
  }

  /** The UTF-8 byte length of a `str` or `json` value, without decoding it; else 0. */
  get byteLength() {
    const table = this._table;
    const kind = table.kinds[this.row];
    return kind === ValueKindCode.STR || kind === ValueKindCode.JSON ? table.valueWords[2 * this.row + 1] : 0;
  }
}

/**
 * Distinct trace ids (hex) in order of first appearance: the traces `sampleTail`
 * answers for, one decision each, in this order.
 * @param {SpanBatch} batch
 * @returns {string[]}
 */
export function traceIdsInOrder(batch) {
  const seen = new Set();
  const ordered = [];
  let previous = null;
  for (let i = 0; i < batch.len; i++) {
    const traceId = batch.span(i).traceId;
    if (traceId === previous) {
      continue;
    }
    previous = traceId;
    if (!seen.has(traceId)) {
      seen.add(traceId);
      ordered.push(traceId);
    }
  }
  return ordered;
}
