// Spans as tests write them: whole, with every field a plugin could ask for.

import { Value, describe } from '../values.js';

const SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUS_CODES = ['unset', 'ok', 'error'];

/**
 * An id as lowercase hex of `bytes` bytes: from a bigint or number (big-endian, as the
 * wire shows it), a hex string, or the bytes themselves.
 */
export function idHex(id, bytes, what) {
  const digits = bytes * 2;
  if (typeof id === 'bigint' || typeof id === 'number') {
    const big = BigInt(id);
    if (big < 0n || big >= 1n << BigInt(bytes * 8)) {
      throw new RangeError(`${what}: ${id} does not fit in ${bytes} bytes`);
    }
    return big.toString(16).padStart(digits, '0');
  }
  if (typeof id === 'string') {
    if (!/^[0-9a-fA-F]*$/.test(id) || id.length > digits) {
      throw new TypeError(`${what}: ${JSON.stringify(id)} is not at most ${digits} hex digits`);
    }
    return id.toLowerCase().padStart(digits, '0');
  }
  if (id instanceof Uint8Array) {
    if (id.length !== bytes) {
      throw new TypeError(`${what}: ${id.length} bytes, expected ${bytes}`);
    }
    return Array.from(id, (b) => b.toString(16).padStart(2, '0')).join('');
  }
  throw new TypeError(`${what}: expected a bigint, number, hex string or Uint8Array, not ${describe(id)}`);
}

/** Attributes given as `{ key: value }` or `[[key, value], ...]`, as `[key, Value]` pairs. */
export function attributePairs(attributes, what) {
  if (attributes === undefined || attributes === null) {
    return [];
  }
  const entries = Array.isArray(attributes) ? attributes : Object.entries(attributes);
  return entries.map((entry, index) => {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string') {
      throw new TypeError(`${what}[${index}]: expected a [key, value] pair, not ${describe(entry)}`);
    }
    return [entry[0], Value.from(entry[1], `${what} ${JSON.stringify(entry[0])}`)];
  });
}

function nanos(value, what) {
  if (value === undefined) {
    return 0n;
  }
  const big = typeof value === 'bigint' ? value : BigInt(value);
  if (big < 0n || big >= 1n << 64n) {
    throw new RangeError(`${what}: ${value} is not a u64`);
  }
  return big;
}

function oneOf(value, choices, fallback, what) {
  if (value === undefined) {
    return fallback;
  }
  if (!choices.includes(value)) {
    throw new TypeError(`${what}: expected one of ${choices.join(', ')}, not ${describe(value)}`);
  }
  return value;
}

function plain(value) {
  return value.value;
}

/**
 * A span for tests:
 *
 *   new TestSpan({ traceId: 1n, spanId: 2n, serviceName: 'checkout', name: 'GET /cart',
 *                  start: 0n, end: 5_000_000n, status: 'error',
 *                  attributes: { 'http.route': '/cart', 'http.status_code': 500 } })
 *
 * Options (all optional): `traceId`, `spanId`, `parentSpanId` (bigint, number, hex or
 * bytes), `serviceName` (or `service`), `name`, `kind`, `startUnixNanos` / `start`,
 * `endUnixNanos` / `end` (bigint or number), `status`, `statusMessage`, `attributes`,
 * `resourceAttributes` (`{ key: value }` or `[[key, value], ...]`), `events`
 * (`[{ name, attributes }]`), `links` (`[{ attributes }]`).
 *
 * Values: strings, booleans, bigints (int), numbers (int when integral, else double),
 * or `Value.double(3)` / `Value.json('[1,2]')` to be explicit.
 */
export class TestSpan {
  constructor(options = {}) {
    const o = options;
    /** 32 lowercase hex digits. */
    this.traceId = idHex(o.traceId ?? 0n, 16, 'traceId');
    /** 16 lowercase hex digits. */
    this.spanId = idHex(o.spanId ?? 0n, 8, 'spanId');
    /** 16 hex digits, or null for a root span. */
    this.parentSpanId =
      o.parentSpanId === undefined || o.parentSpanId === null
        ? null
        : idHex(o.parentSpanId, 8, 'parentSpanId');
    if (this.parentSpanId === '0000000000000000') {
      this.parentSpanId = null;
    }
    this.serviceName = o.serviceName ?? o.service ?? '';
    this.name = o.name ?? '';
    this.kind = oneOf(o.kind, SPAN_KINDS, 'unspecified', 'kind');
    this.startUnixNanos = nanos(o.startUnixNanos ?? o.start, 'start');
    this.endUnixNanos = nanos(o.endUnixNanos ?? o.end, 'end');
    this.status = oneOf(o.status, STATUS_CODES, 'unset', 'status');
    this.statusMessage = o.statusMessage ?? '';
    /** `[key, Value]` pairs, in order. */
    this.attributes = attributePairs(o.attributes, 'attributes');
    this.resourceAttributes = attributePairs(o.resourceAttributes, 'resourceAttributes');
    this.events = (o.events ?? []).map((event, index) => ({
      name: event.name ?? '',
      attributes: attributePairs(event.attributes, `events[${index}].attributes`),
    }));
    this.links = (o.links ?? []).map((link, index) => ({
      attributes: attributePairs(link.attributes, `links[${index}].attributes`),
    }));
    for (const text of [this.serviceName, this.name, this.statusMessage]) {
      if (typeof text !== 'string') {
        throw new TypeError(`serviceName, name and statusMessage must be strings, not ${describe(text)}`);
      }
    }
  }

  /** A deep copy. */
  clone() {
    const copy = Object.create(TestSpan.prototype);
    Object.assign(copy, this);
    copy.attributes = this.attributes.map(([k, v]) => [k, v]);
    copy.resourceAttributes = this.resourceAttributes.map(([k, v]) => [k, v]);
    copy.events = this.events.map((e) => ({ name: e.name, attributes: e.attributes.map(([k, v]) => [k, v]) }));
    copy.links = this.links.map((l) => ({ attributes: l.attributes.map(([k, v]) => [k, v]) }));
    return copy;
  }

  /** The plain value of the first span attribute named `key` (see `Value`), or undefined. */
  attribute(key) {
    const found = this.attributes.find(([k]) => k === key);
    return found === undefined ? undefined : plain(found[1]);
  }

  /** The span attributes as `{ key: plain value }` (ints are bigints). */
  attributeMap() {
    return Object.fromEntries(this.attributes.map(([k, v]) => [k, plain(v)]));
  }

  /** The resource attributes as `{ key: plain value }`. */
  resourceAttributeMap() {
    return Object.fromEntries(this.resourceAttributes.map(([k, v]) => [k, plain(v)]));
  }

  /**
   * A deterministic stand-in for the host's encoded size (the host sends the span's
   * protobuf size; tests need it stable and growing with the content). Same formula as
   * the Rust SDK's `TestSpan::estimated_size`.
   */
  estimatedSize() {
    const utf8 = (text) => new TextEncoder().encode(text).length;
    const valueSize = (value) => {
      switch (value.kind) {
        case 'str':
        case 'json':
          return utf8(value.value) + 2;
        case 'boolean':
          return 2;
        default:
          return 9;
      }
    };
    const attributesSize = (attributes) =>
      attributes.reduce((sum, [key, value]) => sum + utf8(key) + valueSize(value) + 4, 0);
    const fixed = 16 + 8 + 8 + 2 + 8 + 8 + 2 + 8;
    const events = this.events.reduce((sum, e) => sum + 12 + utf8(e.name) + attributesSize(e.attributes), 0);
    const links = this.links.reduce((sum, l) => sum + 28 + attributesSize(l.attributes), 0);
    const total = fixed + utf8(this.name) + utf8(this.statusMessage) + attributesSize(this.attributes) + events + links;
    return Math.min(total, 0xffffffff);
  }
}
