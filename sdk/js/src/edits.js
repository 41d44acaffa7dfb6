// A processor's answer: 24-byte edit records plus the UTF-8 strings they reference
// (wit/README.md, "Edit records").
//
// Edits address the batch the processor was given: attribute rows (`Attribute.row`),
// span indexes (`SpanView.index`) or global event indexes (`EventView.index`). The host
// checks each one (in range, field declared; a row both set and removed is refused) and
// applies the whole answer or, if one edit is bad, none of it.

import { EDIT_RECORD_BYTES, Op, OP_NAMES, VALUE_KIND_NAMES, ValueKindCode, decodeEditRecords } from './abi.js';
import { Value, describe } from './values.js';

const U32_MAX = 0xffffffff;
const encoder = new TextEncoder();
const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);
const scratchI64 = new BigInt64Array(scratch.buffer);
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/** The edits of one `process` call, in the order they were made. */
export class Edits {
  constructor() {
    this._records = new Uint8Array(24 * 16);
    this._words = new Uint32Array(this._records.buffer);
    this._count = 0;
    // Strings are kept as they come and encoded once, at `finish`: the references
    // written meanwhile count UTF-16 units, which are the UTF-8 bytes when all the
    // strings are ASCII; otherwise `finish` re-encodes them one by one and patches.
    this._texts = [];
    this._textRefs = [];
    this._textLength = 0;
  }

  /** Number of edits so far. */
  get length() {
    return this._count;
  }

  /** Replaces the value of span-attribute row `row` (the key stays). */
  setSpanAttribute(row, value) {
    this._valued(Op.SET_SPAN_ATTRIBUTE, row, value, 'setSpanAttribute');
  }

  removeSpanAttribute(row) {
    this._plain(Op.REMOVE_SPAN_ATTRIBUTE, row, 'removeSpanAttribute');
  }

  /**
   * Adds attribute `key` to span `span` (the host replaces the value if the span
   * already has `key`). Needs some span-attribute selection declared.
   */
  addSpanAttribute(span, key, value) {
    if (typeof key !== 'string' || key === '') {
      throw new TypeError(`addSpanAttribute: the key must be a non-empty string, not ${describe(key)}`);
    }
    this._valued(Op.ADD_SPAN_ATTRIBUTE, span, value, 'addSpanAttribute', key);
  }

  /** Replaces the value of resource-attribute row `row`: every span of that resource sees it. */
  setResourceAttribute(row, value) {
    this._valued(Op.SET_RESOURCE_ATTRIBUTE, row, value, 'setResourceAttribute');
  }

  removeResourceAttribute(row) {
    this._plain(Op.REMOVE_RESOURCE_ATTRIBUTE, row, 'removeResourceAttribute');
  }

  setEventAttribute(row, value) {
    this._valued(Op.SET_EVENT_ATTRIBUTE, row, value, 'setEventAttribute');
  }

  removeEventAttribute(row) {
    this._plain(Op.REMOVE_EVENT_ATTRIBUTE, row, 'removeEventAttribute');
  }

  setLinkAttribute(row, value) {
    this._valued(Op.SET_LINK_ATTRIBUTE, row, value, 'setLinkAttribute');
  }

  removeLinkAttribute(row) {
    this._plain(Op.REMOVE_LINK_ATTRIBUTE, row, 'removeLinkAttribute');
  }

  /** Renames span `span` (needs `SpanFields.NAME` declared). */
  setName(span, name) {
    this._text(Op.SET_NAME, span, name, 'setName');
  }

  /** Needs `SpanFields.STATUS_MESSAGE` declared. */
  setStatusMessage(span, message) {
    this._text(Op.SET_STATUS_MESSAGE, span, message, 'setStatusMessage');
  }

  /** Renames global event `event` (needs `SpanFields.EVENT_NAMES` declared). */
  setEventName(event, name) {
    this._text(Op.SET_EVENT_NAME, event, name, 'setEventName');
  }

  /** Removes span `span` from the batch. */
  dropSpan(span) {
    this._plain(Op.DROP_SPAN, span, 'dropSpan');
  }

  /** Forgets every edit (keeps the buffers). */
  clear() {
    this._count = 0;
    this._texts = [];
    this._textRefs = [];
    this._textLength = 0;
  }

  /**
   * The answer as the WIT `edits` record: `{ records, strings }` (copies).
   * @returns {{records: Uint8Array, strings: Uint8Array}}
   */
  finish() {
    const records = this._records.slice(0, this._count * EDIT_RECORD_BYTES);
    const joined = this._texts.join('');
    let strings = encoder.encode(joined);
    if (strings.length !== joined.length) {
      // Not all ASCII: encode string by string and patch the references.
      strings = new Uint8Array(strings.length);
      const words = new Uint32Array(records.buffer);
      let at = 0;
      for (let i = 0; i < this._texts.length; i++) {
        const written = encoder.encodeInto(this._texts[i], strings.subarray(at)).written;
        const ref = this._textRefs[i];
        words[ref] = at;
        words[ref + 1] = written;
        at += written;
      }
    }
    return { records, strings };
  }

  /**
   * The edits decoded, for tests and debugging: `{ op: 'set-name', target: 3, value:
   * 'x' }`, `{ op: 'add-span-attribute', target: 0, key: 'k', value: Value }`, ...
   */
  toArray() {
    return decodeEdits(this.finish());
  }

  // The writers below avoid calls and allocations where they can: inside a component
  // the SDK runs in an interpreter, where each costs more than the work itself.

  /** Starts a record; returns its first u32 word. */
  _record(op, target, method) {
    if (target >>> 0 !== target) {
      throw new TypeError(`${method}: the index must be an integer in 0..2^32, not ${describe(target)}`);
    }
    const words = this._count * 6;
    if ((words + 6) * 4 > this._records.length) {
      const grown = new Uint8Array(this._records.length * 2);
      grown.set(this._records);
      this._records = grown;
      this._words = new Uint32Array(grown.buffer);
    }
    this._count++;
    const w = this._words;
    w[words] = op;
    w[words + 1] = target;
    w[words + 2] = 0;
    w[words + 3] = 0;
    w[words + 4] = 0;
    w[words + 5] = 0;
    return words;
  }

  _plain(op, target, method) {
    this._record(op, target, method);
  }

  _valued(op, target, value, method, key) {
    // The value is checked before anything is written: a refused edit leaves nothing.
    encodeValue(value, method);
    const kind = encodedKind;
    const lo = encodedLo;
    const hi = encodedHi;
    const words = this._record(op, target, method);
    if (key !== undefined) {
      this._string(key, words + 2);
    }
    const w = this._words;
    w[words] = op | (kind << 8);
    if (kind === ValueKindCode.STR) {
      this._string(encodedText, words + 4);
    } else {
      w[words + 4] = lo;
      w[words + 5] = hi;
    }
    return words;
  }

  _text(op, target, text, method) {
    if (typeof text !== 'string') {
      throw new TypeError(`${method}: needs a string, not ${describe(text)}`);
    }
    const words = this._record(op, target, method);
    this._string(text, words + 4);
  }

  /** Keeps `text` for the arena and writes its (provisional) reference at word `at`. */
  _string(text, at) {
    this._texts.push(text);
    this._textRefs.push(at);
    this._words[at] = this._textLength;
    this._words[at + 1] = text.length;
    this._textLength += text.length;
  }
}

// encodeValue's outputs (module variables rather than a returned object: no allocation).
let encodedKind = 0;
let encodedLo = 0;
let encodedHi = 0;
let encodedText = '';

/** Encodes a value as an edit carries it, into the `encoded*` variables. */
function encodeValue(value, method) {
  encodedLo = 0;
  encodedHi = 0;
  switch (typeof value) {
    case 'string':
      encodedKind = ValueKindCode.STR;
      encodedText = value;
      return;
    case 'boolean':
      encodedKind = ValueKindCode.BOOL;
      encodedLo = value ? 1 : 0;
      return;
    case 'number':
      if (Number.isSafeInteger(value)) {
        encodedKind = ValueKindCode.INT;
        encodedLo = value >>> 0;
        encodedHi = Math.floor(value / 4294967296) >>> 0;
      } else if (Number.isInteger(value)) {
        encodeInt(BigInt(value), method);
      } else {
        encodeDouble(value);
      }
      return;
    case 'bigint':
      encodeInt(value, method);
      return;
    default:
      break;
  }
  if (!(value instanceof Value)) {
    Value.from(value, `${method}'s value`); // throws the TypeError naming what is wrong
  }
  switch (value.kind) {
    case 'str':
      encodedKind = ValueKindCode.STR;
      encodedText = value.value;
      return;
    case 'int':
      encodeInt(value.value, method);
      return;
    case 'double':
      encodeDouble(value.value);
      return;
    case 'boolean':
      encodedKind = ValueKindCode.BOOL;
      encodedLo = value.value ? 1 : 0;
      return;
    default:
      throw new TypeError(`${method}: edits cannot write json values; write a string instead`);
  }
}

function encodeInt(value, method) {
  if (value < I64_MIN || value > I64_MAX) {
    throw new RangeError(`${method}: ${value} does not fit in a 64-bit signed integer`);
  }
  encodedKind = ValueKindCode.INT;
  scratchI64[0] = value;
  encodedLo = scratchWords[0];
  encodedHi = scratchWords[1];
}

function encodeDouble(value) {
  encodedKind = ValueKindCode.DOUBLE;
  scratch[0] = value;
  encodedLo = scratchWords[0];
  encodedHi = scratchWords[1];
}

/**
 * Decodes a WIT `edits` record into plain objects (see `Edits.toArray`). Throws on a
 * malformed buffer.
 * @param {{records: Uint8Array, strings: Uint8Array}} edits
 */
export function decodeEdits(edits) {
  const fatal = new TextDecoder('utf-8', { fatal: true });
  const text = (offset, length, what) => {
    if (offset + length > edits.strings.length) {
      throw new RangeError(`${what} (${offset}+${length}) lies outside the ${edits.strings.length}-byte strings`);
    }
    return fatal.decode(edits.strings.subarray(offset, offset + length));
  };
  return decodeEditRecords(edits.records).map((record) => {
    const op = OP_NAMES[record.op] ?? `op-${record.op}`;
    const edit = { op, target: record.target };
    if (record.op === Op.ADD_SPAN_ATTRIBUTE) {
      edit.key = text(record.keyOffset, record.keyLength, 'key');
    }
    if (hasValue(record.op)) {
      edit.value = decodeValue(record, text);
    }
    return edit;
  });
}

/** Whether an op carries a value. */
export function hasValue(op) {
  return (
    op === Op.SET_SPAN_ATTRIBUTE ||
    op === Op.ADD_SPAN_ATTRIBUTE ||
    op === Op.SET_RESOURCE_ATTRIBUTE ||
    op === Op.SET_EVENT_ATTRIBUTE ||
    op === Op.SET_LINK_ATTRIBUTE ||
    op === Op.SET_NAME ||
    op === Op.SET_STATUS_MESSAGE ||
    op === Op.SET_EVENT_NAME
  );
}

/**
 * The value of a decoded edit record (see `decodeEditRecords`); `text(offset, length,
 * what)` reads the string arena. Throws a RangeError for a kind an edit cannot carry.
 */
export function decodeValue(record, text) {
  switch (VALUE_KIND_NAMES[record.kind]) {
    case 'str':
      return Value.str(text(record.valueLo, record.valueHi, 'value'));
    case 'int':
      return Value.int(BigInt.asIntN(64, (BigInt(record.valueHi) << 32n) | BigInt(record.valueLo)));
    case 'double':
      scratchWords[0] = record.valueLo;
      scratchWords[1] = record.valueHi;
      return Value.double(scratch[0]);
    case 'boolean':
      return Value.bool(record.valueLo !== 0 || record.valueHi !== 0);
    default:
      throw new RangeError(`value kind ${record.kind} is not a valid edit value kind`);
  }
}
