// Test spans to the column batch the host would send, by the host's layout rules
// (wit/README.md, "Batch layout"; the Rust SDK's testing/encode.rs):
//
// - only declared columns are filled; `len` always;
// - service names are a dictionary (`services` + `service`);
// - spans with equal service name and resource attributes share a resource; the
//   `resource` column is sent when resource attributes are declared;
// - attribute keys are a dictionary per table; non-scalar values are `json` rows, sent
//   only under `all` or when their key is named;
// - `event-offsets` are sent when event names or event attributes are declared,
//   `link-offsets` when link attributes are.

import { Column, COLUMN_WIDTHS, SPAN_KINDS, STATUS_CODES } from '../abi.js';
import { SpanFields } from '../needs.js';
import { kindCode } from '../values.js';

const encoder = new TextEncoder();
const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);

/** A growable byte buffer. */
class Bytes {
  constructor() {
    this.bytes = new Uint8Array(64);
    this.length = 0;
  }

  reserve(extra) {
    const needed = this.length + extra;
    if (needed > this.bytes.length) {
      const grown = new Uint8Array(Math.max(needed, this.bytes.length * 2));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
  }

  push(bytes) {
    this.reserve(bytes.length);
    this.bytes.set(bytes, this.length);
    this.length += bytes.length;
  }

  pushU32(value) {
    this.reserve(4);
    const at = this.length;
    const b = this.bytes;
    b[at] = value & 0xff;
    b[at + 1] = (value >>> 8) & 0xff;
    b[at + 2] = (value >>> 16) & 0xff;
    b[at + 3] = (value >>> 24) & 0xff;
    this.length += 4;
  }

  toUint8Array() {
    return this.bytes.slice(0, this.length);
  }
}

/**
 * Builds a batch column by column, then lays out the directory and the columns
 * (`BatchBuilder` of the Rust crate `sdk/abi`). Useful to test column-level code.
 */
export class BatchBuilder {
  constructor() {
    this.columns = Array.from({ length: Column.COUNT }, () => new Bytes());
    this.strings = new Bytes();
  }

  /** Elements pushed to `column` so far. */
  count(column) {
    return this.columns[column].length / COLUMN_WIDTHS[column];
  }

  pushU8(column, value) {
    this.columns[column].push([value & 0xff]);
  }

  pushU32(column, value) {
    this.columns[column].pushU32(value >>> 0);
  }

  /** Pushes 8 bytes: a bigint as u64/i64 two's complement. */
  pushU64(column, value) {
    const bits = BigInt.asUintN(64, BigInt(value));
    this.columns[column].pushU32(Number(bits & 0xffffffffn));
    this.columns[column].pushU32(Number(bits >> 32n));
  }

  pushF64(column, value) {
    scratch[0] = value;
    this.columns[column].pushU32(scratchWords[0]);
    this.columns[column].pushU32(scratchWords[1]);
  }

  /** Pushes an id's bytes (cut or zero-padded to the column's width). */
  pushId(column, bytes) {
    const width = COLUMN_WIDTHS[column];
    const out = new Uint8Array(width);
    out.set(bytes.subarray(0, width));
    this.columns[column].push(out);
  }

  /** Appends `text` to the arena; returns `[offset, length]`. */
  addString(text) {
    const bytes = encoder.encode(text);
    const offset = this.strings.length;
    this.strings.push(bytes);
    return [offset, bytes.length];
  }

  /** Appends `text` to the arena and pushes its reference to `column`. */
  pushStr(column, text) {
    const [offset, length] = this.addString(text);
    this.pushRef(column, offset, length);
  }

  pushRef(column, offset, length) {
    this.columns[column].pushU32(offset);
    this.columns[column].pushU32(length);
  }

  /** The WIT `span-batch`: `{ len, columns, strings }`. */
  finish(len) {
    let size = Column.DIRECTORY_BYTES;
    for (const column of this.columns) {
      size += Math.ceil(column.length / 8) * 8;
    }
    const out = new Uint8Array(size);
    const directory = new Uint32Array(out.buffer, 0, Column.COUNT * 2);
    let at = Column.DIRECTORY_BYTES;
    this.columns.forEach((column, index) => {
      const count = column.length / COLUMN_WIDTHS[index];
      if (count === 0) {
        return;
      }
      directory[2 * index] = at;
      directory[2 * index + 1] = count;
      out.set(column.bytes.subarray(0, column.length), at);
      at += Math.ceil(column.length / 8) * 8;
    });
    return { len, columns: out, strings: this.strings.toUint8Array() };
  }
}

function hexBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/** Builds one attribute table: rows grouped by owner, keys a dictionary. */
class TableBuilder {
  constructor(builder, first) {
    this.builder = builder;
    this.first = first;
    this.keyIds = new Map();
    this.rows = 0;
    builder.pushU32(first + Column.OWNER_OFFSETS, 0);
  }

  /** Adds the next owner's selected attributes; returns their indexes in `attributes`. */
  pushOwner(attributes, selection) {
    const b = this.builder;
    const selected = [];
    attributes.forEach(([key, value], index) => {
      if (!selection.selects(key, value.kind === 'str')) {
        return;
      }
      selected.push(index);
      let id = this.keyIds.get(key);
      if (id === undefined) {
        id = this.keyIds.size;
        this.keyIds.set(key, id);
        b.pushStr(this.first + Column.KEYS, key);
      }
      b.pushU32(this.first + Column.KEY, id);
      b.pushU8(this.first + Column.VALUE_KIND, kindCode(value.kind));
      const valueColumn = this.first + Column.VALUE;
      switch (value.kind) {
        case 'str':
        case 'json':
          b.pushStr(valueColumn, value.value);
          break;
        case 'int':
          b.pushU64(valueColumn, value.value);
          break;
        case 'double':
          b.pushF64(valueColumn, value.value);
          break;
        default:
          b.pushU64(valueColumn, value.value ? 1n : 0n);
      }
      this.rows++;
    });
    b.pushU32(this.first + Column.OWNER_OFFSETS, this.rows);
    return selected;
  }
}

function sameAttributes(a, b) {
  return (
    a.length === b.length &&
    a.every(([key, value], i) => key === b[i][0] && value.kind === b[i][1].kind && Object.is(value.value, b[i][1].value))
  );
}

/**
 * The batch the host would send for `spans` to a plugin with `needs`, and where each
 * row and index came from (so edits can be mapped back onto the spans).
 * @param {import('./span.js').TestSpan[]} spans
 * @param {import('../needs.js').Needs} needs
 */
export function encode(spans, needs) {
  const b = new BatchBuilder();
  const has = (bit) => (needs.spanFields & bit) !== 0;
  const encoding = {
    batch: null,
    /** Per span-attribute row: [span, index in its attributes]. */
    spanRows: [],
    /** Per resource: the spans that share it. */
    resourceSpans: [],
    /** Per resource-attribute row: [resource, index in resourceAttributes]. */
    resourceRows: [],
    /** Per global event: [span, index in its events] (when events are sent). */
    events: [],
    /** Per event-attribute row: [global event, index in the event's attributes]. */
    eventRows: [],
    links: [],
    linkRows: [],
  };

  const services = new Map();
  for (const span of spans) {
    if (has(SpanFields.TRACE_ID)) b.pushId(Column.TRACE_ID, hexBytes(span.traceId));
    if (has(SpanFields.SPAN_ID)) b.pushId(Column.SPAN_ID, hexBytes(span.spanId));
    if (has(SpanFields.PARENT_SPAN_ID)) {
      b.pushId(Column.PARENT_SPAN_ID, hexBytes(span.parentSpanId ?? '0000000000000000'));
    }
    if (has(SpanFields.SERVICE_NAME)) {
      let id = services.get(span.serviceName);
      if (id === undefined) {
        id = services.size;
        services.set(span.serviceName, id);
        b.pushStr(Column.SERVICES, span.serviceName);
      }
      b.pushU32(Column.SERVICE, id);
    }
    if (has(SpanFields.NAME)) b.pushStr(Column.NAME, span.name);
    if (has(SpanFields.KIND)) b.pushU8(Column.KIND, SPAN_KINDS.indexOf(span.kind));
    if (has(SpanFields.STATUS)) b.pushU8(Column.STATUS, STATUS_CODES.indexOf(span.status));
    if (has(SpanFields.TIMES)) {
      b.pushU64(Column.START, span.startUnixNanos);
      b.pushU64(Column.END, span.endUnixNanos);
    }
    if (has(SpanFields.STATUS_MESSAGE)) b.pushStr(Column.STATUS_MESSAGE, span.statusMessage);
    if (has(SpanFields.SIZE)) b.pushU32(Column.SIZE, span.estimatedSize());
  }

  if (!needs.spanAttributeSelection.isNone) {
    const table = new TableBuilder(b, Column.SPAN_ATTRIBUTES);
    spans.forEach((span, index) => {
      for (const attribute of table.pushOwner(span.attributes, needs.spanAttributeSelection)) {
        encoding.spanRows.push([index, attribute]);
      }
    });
  }

  if (!needs.resourceAttributeSelection.isNone) {
    // A resource is what the host would have received: service name and attributes.
    const resources = [];
    spans.forEach((span, index) => {
      let resource = resources.findIndex(
        (other) => other.serviceName === span.serviceName && sameAttributes(other.resourceAttributes, span.resourceAttributes),
      );
      if (resource === -1) {
        resources.push(span);
        encoding.resourceSpans.push([]);
        resource = resources.length - 1;
      }
      encoding.resourceSpans[resource].push(index);
      b.pushU32(Column.RESOURCE, resource);
    });
    const table = new TableBuilder(b, Column.RESOURCE_ATTRIBUTES);
    resources.forEach((first, resource) => {
      for (const attribute of table.pushOwner(first.resourceAttributes, needs.resourceAttributeSelection)) {
        encoding.resourceRows.push([resource, attribute]);
      }
    });
  }

  const eventNames = has(SpanFields.EVENT_NAMES);
  const eventAttributes = !needs.eventAttributeSelection.isNone;
  if (eventNames || eventAttributes) {
    const table = eventAttributes ? new TableBuilder(b, Column.EVENT_ATTRIBUTES) : null;
    b.pushU32(Column.EVENT_OFFSETS, 0);
    spans.forEach((span, spanIndex) => {
      span.events.forEach((event, eventIndex) => {
        const global = encoding.events.length;
        encoding.events.push([spanIndex, eventIndex]);
        if (eventNames) b.pushStr(Column.EVENT_NAMES, event.name);
        if (table !== null) {
          for (const attribute of table.pushOwner(event.attributes, needs.eventAttributeSelection)) {
            encoding.eventRows.push([global, attribute]);
          }
        }
      });
      b.pushU32(Column.EVENT_OFFSETS, encoding.events.length);
    });
  }

  if (!needs.linkAttributeSelection.isNone) {
    const table = new TableBuilder(b, Column.LINK_ATTRIBUTES);
    b.pushU32(Column.LINK_OFFSETS, 0);
    spans.forEach((span, spanIndex) => {
      span.links.forEach((link, linkIndex) => {
        const global = encoding.links.length;
        encoding.links.push([spanIndex, linkIndex]);
        for (const attribute of table.pushOwner(link.attributes, needs.linkAttributeSelection)) {
          encoding.linkRows.push([global, attribute]);
        }
      });
      b.pushU32(Column.LINK_OFFSETS, encoding.links.length);
    });
  }

  encoding.batch = b.finish(spans.length);
  return encoding;
}
