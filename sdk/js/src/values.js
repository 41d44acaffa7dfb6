// Attribute values: what a batch holds and what edits write.
//
// Plain JavaScript values map to the WIT `value-kind`s like this:
//   string  -> str        boolean -> boolean      bigint -> int (must fit in i64)
//   number  -> int when it is an integer, double otherwise (NaN and ±Infinity too)
// `Value.double(3)` writes the double 3.0 and `Value.int(3)` / `Value.str(..)` /
// `Value.bool(..)` are explicit; `Value.json(text)` is how a non-scalar value (array,
// map, bytes) reads, and is never written by an edit.

import { ValueKindCode } from './abi.js';

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/** An attribute value with its kind made explicit. */
export class Value {
  /**
   * @param {'str'|'int'|'double'|'boolean'|'json'} kind
   * @param {string|bigint|number|boolean} value
   */
  constructor(kind, value) {
    this.kind = kind;
    this.value = value;
    Object.freeze(this);
  }

  /** @param {string} text */
  static str(text) {
    if (typeof text !== 'string') {
      throw new TypeError(`Value.str needs a string, not ${describe(text)}`);
    }
    return new Value('str', text);
  }

  /** @param {bigint|number} number an integer in the i64 range */
  static int(number) {
    return new Value('int', toI64(number, 'Value.int'));
  }

  /** @param {number} number */
  static double(number) {
    if (typeof number !== 'number') {
      throw new TypeError(`Value.double needs a number, not ${describe(number)}`);
    }
    return new Value('double', number);
  }

  /** @param {boolean} flag */
  static bool(flag) {
    if (typeof flag !== 'boolean') {
      throw new TypeError(`Value.bool needs a boolean, not ${describe(flag)}`);
    }
    return new Value('boolean', flag);
  }

  /** A non-scalar value as JSON text (reads only; edits cannot write it). */
  static json(text) {
    if (typeof text !== 'string') {
      throw new TypeError(`Value.json needs a string, not ${describe(text)}`);
    }
    return new Value('json', text);
  }

  /**
   * A plain JavaScript value (or a Value) as a Value, by the rules at the top of this
   * file.
   * @param {unknown} value
   * @param {string} [what] names the caller in errors
   * @returns {Value}
   */
  static from(value, what = 'an attribute value') {
    switch (typeof value) {
      case 'string':
        return new Value('str', value);
      case 'boolean':
        return new Value('boolean', value);
      case 'bigint':
        return new Value('int', toI64(value, what));
      case 'number':
        return Number.isInteger(value)
          ? new Value('int', toI64(value, what))
          : new Value('double', value);
      default:
        if (value instanceof Value) {
          return value;
        }
        throw new TypeError(
          `${what} must be a string, boolean, bigint, number or Value, not ${describe(value)}`,
        );
    }
  }

  /** The plain JavaScript value (json values read as their text). */
  toJSON() {
    return this.kind === 'int' ? this.value.toString() : this.value;
  }
}

/** The byte value of a Value's kind. */
export function kindCode(kind) {
  switch (kind) {
    case 'str':
      return ValueKindCode.STR;
    case 'int':
      return ValueKindCode.INT;
    case 'double':
      return ValueKindCode.DOUBLE;
    case 'boolean':
      return ValueKindCode.BOOL;
    default:
      return ValueKindCode.JSON;
  }
}

/**
 * `number` as an i64 bigint, or a RangeError/TypeError naming `what`.
 * @param {bigint|number} number
 * @param {string} what
 */
export function toI64(number, what) {
  let big;
  if (typeof number === 'bigint') {
    big = number;
  } else if (typeof number === 'number' && Number.isInteger(number)) {
    big = BigInt(number);
  } else {
    throw new TypeError(`${what}: an int must be a bigint or an integer number, not ${describe(number)}`);
  }
  if (big < I64_MIN || big > I64_MAX) {
    throw new RangeError(`${what}: ${big} does not fit in a 64-bit signed integer`);
  }
  return big;
}

/** The number of bytes of `text` in UTF-8 (what a string reference's length counts). */
export function utf8Length(text) {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) {
      bytes += 1;
    } else if (unit < 0x800) {
      bytes += 2;
    } else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else {
        bytes += 3; // a lone surrogate encodes as U+FFFD
      }
    } else {
      bytes += 3;
    }
  }
  return bytes;
}

/** A short description of a value for error messages. */
export function describe(value) {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'an array';
  }
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value)}`;
    case 'number':
      return `the number ${value}`;
    case 'bigint':
      return `the bigint ${value}n`;
    case 'boolean':
      return `the boolean ${value}`;
    case 'undefined':
      return 'undefined';
    case 'function':
      return 'a function';
    default:
      return 'an object';
  }
}
