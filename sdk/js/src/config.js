// Typed plugin config. The gateway hands `init` the plugin's YAML `config` as JSON text;
// `parseConfig(text, schema)` checks it against a schema and returns a plain object with
// defaults filled in, or throws a `ConfigError` naming the offending key:
//
//   const config = parseConfig(text, {
//     mask_keys: t.list(t.string(), { default: [] }),
//     slow_ms: t.uint({ default: 1000 }),
//     rename: t.list(t.object({ prefix: t.string(), to: t.string() }), { default: [] }),
//   });
//   // '{"slow_ms": "fast"}'  ->  ConfigError: slow_ms: invalid type: string "fast", expected a non-negative integer
//   // '{"bogus": 1}'         ->  ConfigError: bogus: unknown field `bogus`, expected one of `mask_keys`, `slow_ms`, `rename`
//
// A field without `default` is required (`rename[0]: missing field \`to\``); `t.optional`
// makes it `undefined` when absent or null. Empty or blank text reads as `{}`.

import { PluginError } from './errors.js';

/** A config the plugin refuses; its message names the key. */
export class ConfigError extends PluginError {
  constructor(message) {
    super(message);
    this.name = 'ConfigError';
  }
}

const MISSING = Symbol('missing');

function kindOf(value) {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'sequence';
  }
  switch (typeof value) {
    case 'string':
      return `string ${JSON.stringify(value)}`;
    case 'number':
      return Number.isInteger(value) ? `integer \`${value}\`` : `floating point \`${value}\``;
    case 'boolean':
      return `boolean \`${value}\``;
    default:
      return 'map';
  }
}

function invalid(path, value, expected) {
  return new ConfigError(`${prefix(path)}invalid type: ${kindOf(value)}, expected ${expected}`);
}

function prefix(path) {
  return path === '' ? '' : `${path}: `;
}

function join(path, key) {
  return path === '' ? key : `${path}.${key}`;
}

/**
 * A field type: `check(value, path)` returns the checked value or throws.
 * @template T
 * @typedef {{ expected: string, default?: T, check(value: unknown, path: string): T }} FieldType
 */

function field(expected, check, options = {}) {
  const type = { expected, check };
  if (Object.prototype.hasOwnProperty.call(options, 'default')) {
    type.default = options.default;
  }
  return type;
}

function withDefault(options) {
  return options ?? {};
}

/** Field types for `parseConfig` schemas. */
export const t = Object.freeze({
  /** A string. Options: `{ default, nonEmpty }`. */
  string(options) {
    const { nonEmpty = false } = withDefault(options);
    return field(
      'a string',
      (value, path) => {
        if (typeof value !== 'string') {
          throw invalid(path, value, 'a string');
        }
        if (nonEmpty && value === '') {
          throw new ConfigError(`${prefix(path)}must not be empty`);
        }
        return value;
      },
      withDefault(options),
    );
  },

  /** true or false. Options: `{ default }`. */
  bool(options) {
    return field(
      'a boolean',
      (value, path) => {
        if (typeof value !== 'boolean') {
          throw invalid(path, value, 'a boolean');
        }
        return value;
      },
      withDefault(options),
    );
  },

  /**
   * An integer (a safe JavaScript integer: |n| ≤ 2^53 − 1). Options: `{ default, min, max }`.
   */
  int(options) {
    const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = withDefault(options);
    const expected = min === 0 ? 'a non-negative integer' : 'an integer';
    return field(
      expected,
      (value, path) => {
        if (typeof value !== 'number' || !Number.isInteger(value)) {
          throw invalid(path, value, expected);
        }
        if (!Number.isSafeInteger(value)) {
          throw new ConfigError(`${prefix(path)}${value} is too large: integers must be within ±(2^53 − 1)`);
        }
        if (value < min || value > max) {
          throw new ConfigError(`${prefix(path)}invalid value: integer \`${value}\`, expected an integer in ${min}..=${max}`);
        }
        return value;
      },
      withDefault(options),
    );
  },

  /** A non-negative integer (≤ 2^53 − 1). Options: `{ default, max }`. */
  uint(options) {
    return t.int({ ...withDefault(options), min: 0 });
  },

  /** Any JSON number. Options: `{ default, min, max }`. */
  number(options) {
    const { min = -Infinity, max = Infinity } = withDefault(options);
    return field(
      'a number',
      (value, path) => {
        if (typeof value !== 'number') {
          throw invalid(path, value, 'a number');
        }
        if (value < min || value > max) {
          throw new ConfigError(`${prefix(path)}invalid value: ${value}, expected a number in ${min}..=${max}`);
        }
        return value;
      },
      withDefault(options),
    );
  },

  /** One of the given strings. Options: `{ default }`. */
  oneOf(choices, options) {
    const expected = `one of ${choices.map((c) => `\`${c}\``).join(', ')}`;
    return field(
      expected,
      (value, path) => {
        if (typeof value !== 'string') {
          throw invalid(path, value, expected);
        }
        if (!choices.includes(value)) {
          throw new ConfigError(`${prefix(path)}unknown variant \`${value}\`, expected ${expected}`);
        }
        return value;
      },
      withDefault(options),
    );
  },

  /** A list whose items are of type `item`. Options: `{ default }`. */
  list(item, options) {
    return field(
      `a list of ${item.expected.replace(/^an? /, '')}s`,
      (value, path) => {
        if (!Array.isArray(value)) {
          throw invalid(path, value, 'a sequence');
        }
        return value.map((entry, index) => item.check(entry, `${path}[${index}]`));
      },
      withDefault(options),
    );
  },

  /** A map from string keys to values of type `value`. Options: `{ default }`. */
  map(value, options) {
    return field(
      'a map',
      (input, path) => {
        if (input === null || typeof input !== 'object' || Array.isArray(input)) {
          throw invalid(path, input, 'a map');
        }
        const out = {};
        for (const [key, entry] of Object.entries(input)) {
          out[key] = value.check(entry, join(path, key));
        }
        return out;
      },
      withDefault(options),
    );
  },

  /** A nested object with its own schema (unknown keys refused). Options: `{ default }`. */
  object(schema, options) {
    return field('a map', (value, path) => checkObject(schema, value, path), withDefault(options));
  },

  /** `type`, or `undefined` when the key is absent or null. */
  optional(type) {
    return {
      expected: type.expected,
      optional: true,
      check: (value, path) => (value === null ? undefined : type.check(value, path)),
    };
  },
});

function checkObject(schema, value, path) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(path, value, 'a map');
  }
  const known = Object.keys(schema);
  for (const key of Object.keys(value)) {
    if (!Object.prototype.hasOwnProperty.call(schema, key)) {
      const expected =
        known.length === 0
          ? 'there are no fields'
          : `expected ${known.length === 1 ? '' : 'one of '}${known.map((k) => `\`${k}\``).join(', ')}`;
      throw new ConfigError(`${join(path, key)}: unknown field \`${key}\`, ${expected}`);
    }
  }
  const out = {};
  for (const key of known) {
    const type = schema[key];
    const given = Object.prototype.hasOwnProperty.call(value, key) ? value[key] : MISSING;
    if (given === MISSING) {
      if (type.optional) {
        out[key] = undefined;
      } else if (Object.prototype.hasOwnProperty.call(type, 'default')) {
        out[key] = structuredCloneDefault(type.default);
      } else {
        throw new ConfigError(`${prefix(path)}missing field \`${key}\``);
      }
      continue;
    }
    out[key] = type.check(given, join(path, key));
  }
  return out;
}

// Defaults are copied so that a plugin mutating its config cannot change them.
function structuredCloneDefault(value) {
  if (Array.isArray(value)) {
    return value.map(structuredCloneDefault);
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, structuredCloneDefault(v)]));
  }
  return value;
}

/**
 * Parses the JSON config text against `schema` (an object of field types from `t`).
 * @param {string} text
 * @param {Record<string, FieldType<any>>} schema
 * @returns {Record<string, any>}
 * @throws {ConfigError}
 */
export function parseConfig(text, schema) {
  if (typeof text !== 'string') {
    throw new ConfigError('config must be JSON text');
  }
  let value;
  if (text.trim() === '') {
    value = {};
  } else {
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`config is not valid JSON: ${error.message}`);
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid('', value, 'a map of config keys');
  }
  return checkObject(schema, value, '');
}
