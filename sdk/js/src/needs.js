// What a plugin declares at `init`: its name and version, the span fields it reads and
// which attributes of each kind. The host sends only those columns.

import { describe } from './values.js';

/**
 * Span fields as bits; combine with `|`: `SpanFields.NAME | SpanFields.TIMES`.
 * `TIMES` covers start and end.
 */
export const SpanFields = Object.freeze({
  TRACE_ID: 1 << 0,
  SPAN_ID: 1 << 1,
  PARENT_SPAN_ID: 1 << 2,
  SERVICE_NAME: 1 << 3,
  NAME: 1 << 4,
  KIND: 1 << 5,
  TIMES: 1 << 6,
  STATUS: 1 << 7,
  STATUS_MESSAGE: 1 << 8,
  SIZE: 1 << 9,
  EVENT_NAMES: 1 << 10,
  NONE: 0,
  ALL: (1 << 11) - 1,
});

/** [bit, WIT flag name, jco property name] per span field, in WIT order. */
export const FIELD_NAMES = Object.freeze([
  [SpanFields.TRACE_ID, 'trace-id', 'traceId'],
  [SpanFields.SPAN_ID, 'span-id', 'spanId'],
  [SpanFields.PARENT_SPAN_ID, 'parent-span-id', 'parentSpanId'],
  [SpanFields.SERVICE_NAME, 'service-name', 'serviceName'],
  [SpanFields.NAME, 'name', 'name'],
  [SpanFields.KIND, 'kind', 'kind'],
  [SpanFields.TIMES, 'times', 'times'],
  [SpanFields.STATUS, 'status', 'status'],
  [SpanFields.STATUS_MESSAGE, 'status-message', 'statusMessage'],
  [SpanFields.SIZE, 'size', 'size'],
  [SpanFields.EVENT_NAMES, 'event-names', 'eventNames'],
]);

/** The WIT name of a single field bit. */
export function fieldName(bit) {
  const entry = FIELD_NAMES.find(([b]) => b === bit);
  return entry ? entry[1] : `field-${bit}`;
}

/** Which attributes of a kind (span, resource, event, link) a plugin reads. */
export class AttributeSelection {
  /**
   * @param {'none'|'keys'|'all-strings'|'all'} tag
   * @param {string[]} [keys]
   */
  constructor(tag, keys) {
    this.tag = tag;
    this.keys = keys;
    Object.freeze(this);
  }

  /** Only these keys (an empty list is a selection too: it lets a plugin add attributes). */
  static keys(keys) {
    const list = Array.from(keys ?? [], (key) => {
      if (typeof key !== 'string') {
        throw new TypeError(`AttributeSelection.keys: keys must be strings, not ${describe(key)}`);
      }
      return key;
    });
    return new AttributeSelection('keys', Object.freeze(list));
  }

  /** Whether an attribute with this key is sent (`isString`: a plain string value). */
  selects(key, isString) {
    switch (this.tag) {
      case 'none':
        return false;
      case 'keys':
        return this.keys.includes(key);
      case 'all-strings':
        return isString;
      default:
        return true;
    }
  }

  get isNone() {
    return this.tag === 'none';
  }

  /** The jco/componentize-js representation of the WIT variant. */
  toWit() {
    return this.tag === 'keys' ? { tag: 'keys', val: [...this.keys] } : { tag: this.tag };
  }
}

/** Nothing of this kind. */
AttributeSelection.none = new AttributeSelection('none');
/** Every attribute with a string value. */
AttributeSelection.allStrings = new AttributeSelection('all-strings');
/** Every attribute; non-scalar values (arrays, maps, bytes) arrive as JSON text. */
AttributeSelection.all = new AttributeSelection('all');

function checkSelection(selection, what) {
  if (!(selection instanceof AttributeSelection)) {
    throw new TypeError(
      `Needs.${what} takes an AttributeSelection (AttributeSelection.none, .keys([...]), .allStrings, .all), not ${describe(selection)}`,
    );
  }
  return selection;
}

/**
 * What `init` returns: `new Needs('my-plugin', '1.0.0').fields(SpanFields.NAME)
 * .spanAttributes(AttributeSelection.keys(['http.route']))`.
 */
export class Needs {
  /**
   * @param {string} name
   * @param {string} version
   */
  constructor(name, version) {
    if (typeof name !== 'string' || typeof version !== 'string') {
      throw new TypeError('new Needs(name, version) takes two strings');
    }
    this.name = name;
    this.version = version;
    /** Bits of `SpanFields`. */
    this.spanFields = 0;
    this.spanAttributeSelection = AttributeSelection.none;
    this.resourceAttributeSelection = AttributeSelection.none;
    this.eventAttributeSelection = AttributeSelection.none;
    this.linkAttributeSelection = AttributeSelection.none;
  }

  /** Sets the span fields read (bits of `SpanFields`, or'ed). */
  fields(bits) {
    if (!Number.isInteger(bits) || bits < 0 || bits > SpanFields.ALL) {
      throw new TypeError(`Needs.fields takes SpanFields bits, not ${describe(bits)}`);
    }
    this.spanFields = bits;
    return this;
  }

  spanAttributes(selection) {
    this.spanAttributeSelection = checkSelection(selection, 'spanAttributes');
    return this;
  }

  resourceAttributes(selection) {
    this.resourceAttributeSelection = checkSelection(selection, 'resourceAttributes');
    return this;
  }

  eventAttributes(selection) {
    this.eventAttributeSelection = checkSelection(selection, 'eventAttributes');
    return this;
  }

  linkAttributes(selection) {
    this.linkAttributeSelection = checkSelection(selection, 'linkAttributes');
    return this;
  }

  /** Whether every bit of `bits` was declared. */
  has(bits) {
    return (this.spanFields & bits) === bits;
  }

  /** The jco/componentize-js representation of the WIT `needs` record. */
  toWit() {
    const fields = {};
    for (const [bit, , property] of FIELD_NAMES) {
      fields[property] = (this.spanFields & bit) !== 0;
    }
    return {
      name: this.name,
      version: this.version,
      fields,
      spanAttributes: this.spanAttributeSelection.toWit(),
      resourceAttributes: this.resourceAttributeSelection.toWit(),
      eventAttributes: this.eventAttributeSelection.toWit(),
      linkAttributes: this.linkAttributeSelection.toWit(),
    };
  }
}
