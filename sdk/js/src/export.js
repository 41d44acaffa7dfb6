// Turning a plugin class into the component's exported interface.
//
// A plugin class has a static `init(config)` returning `{ plugin, needs }` (a sampler
// also `tail`), and the batch methods of its kind. The entry module of the plugin
// exports the object these functions return under the interface's name:
//
//   export const processor = exportProcessor(MyPlugin);
//
// Lifecycle: the host calls `init` once per instance, then the batch methods one at a
// time. A failed `init` leaves no instance (later calls fail with "not initialised").
//
// Failures: a `PluginError` (a `ConfigError` too) fails the call with its message. Any
// other exception is a bug: it is logged through `host.log` at error level with its
// stack, then the call fails with its message. (componentize-js turns a thrown string
// into WIT's `err(string)`; a thrown Error object would trap without a message, so the
// SDK always throws strings across the boundary.)

import { SpanBatch } from './batch.js';
import { Edits } from './edits.js';
import { PluginError } from './errors.js';
import { log } from './host.js';
import { Needs } from './needs.js';
import { describe } from './values.js';

const NOT_INITIALISED = 'not initialised';

/** The text of an error for messages: `TypeError: x is undefined`. */
export function errorMessage(error) {
  if (error instanceof Error) {
    return error.message ? `${error.name}: ${error.message}` : error.name;
  }
  return String(error);
}

/** The stack of an error, without repeating its message (engines differ). */
function errorStack(error) {
  if (!(error instanceof Error) || typeof error.stack !== 'string') {
    return '';
  }
  const header = errorMessage(error);
  const stack = error.stack.startsWith(header) ? error.stack.slice(header.length) : error.stack;
  return stack.replace(/^\n+/, '').trimEnd();
}

/**
 * Runs `call`; returns its value, or throws the string message of its failure after
 * logging unexpected exceptions with their stack.
 * @template T
 * @param {string} what the call, for messages ("process")
 * @param {() => T} call
 * @returns {T}
 */
export function guard(what, call) {
  try {
    return call();
  } catch (error) {
    throw failure(what, error);
  }
}

/** The message a failed call answers with; unexpected errors are logged first. */
export function failure(what, error) {
  if (error instanceof PluginError) {
    return error.message;
  }
  const message = `${what} threw ${errorMessage(error)}`;
  const stack = errorStack(error);
  try {
    log('error', stack ? `${message}\n${stack}` : message);
  } catch {
    // The log itself failed (no host): the message still fails the call.
  }
  return message;
}

function checkPluginClass(Plugin, kind, methods) {
  if (Plugin === null || (typeof Plugin !== 'function' && typeof Plugin !== 'object')) {
    throw new TypeError(`export${kind}: expected a plugin class, not ${describe(Plugin)}`);
  }
  if (typeof Plugin.init !== 'function') {
    throw new TypeError(`export${kind}: the plugin needs a static init(config) method`);
  }
  return methods;
}

function initResult(Plugin, config, methods) {
  const result = Plugin.init(config);
  if (result === null || typeof result !== 'object') {
    throw new TypeError(`init must return { plugin, needs }, not ${describe(result)}`);
  }
  for (const key of ['plugin', 'needs']) {
    if (!(key in result)) {
      throw new TypeError(`init must return { plugin, needs }: \`${key}\` is missing`);
    }
  }
  if (!(result.needs instanceof Needs)) {
    throw new TypeError(`init returned needs that are not a Needs (${describe(result.needs)})`);
  }
  for (const method of methods) {
    if (result.plugin === null || typeof result.plugin[method] !== 'function') {
      throw new TypeError(`init returned a plugin without a ${method}() method`);
    }
  }
  return result;
}

/**
 * A processor class as the `processor` interface:
 * `export const processor = exportProcessor(MyProcessor)`.
 *
 * The class: `static init(config: string) => { plugin, needs: Needs }` and
 * `process(batch: SpanBatch, edits: Edits): void`.
 */
export function exportProcessor(Plugin) {
  checkPluginClass(Plugin, 'Processor', ['process']);
  let instance = null;
  let needs = null;
  return {
    init(config) {
      instance = null;
      needs = null;
      return guard('init', () => {
        const result = initResult(Plugin, config, ['process']);
        instance = result.plugin;
        needs = result.needs;
        return needs.toWit();
      });
    },
    process(raw) {
      return guard('process', () => {
        if (instance === null) {
          throw new PluginError(NOT_INITIALISED);
        }
        const edits = new Edits();
        instance.process(new SpanBatch(raw, needs), edits);
        return edits.finish();
      });
    },
  };
}

/** A sampler's decision for a span or a trace. */
export class Decision {
  constructor(keep, policy) {
    this.keep = keep;
    this.policy = policy;
    Object.freeze(this);
  }

  /** Keep; `policy` names the policy that kept it (recorded by tail sampling). */
  static keep(policy = '') {
    if (typeof policy !== 'string') {
      throw new TypeError(`Decision.keep takes a policy name string, not ${describe(policy)}`);
    }
    return policy === '' ? KEEP : new Decision(true, policy);
  }
}

const KEEP = new Decision(true, '');
/** Drop the span (head) or trace (tail). */
Decision.drop = new Decision(false, '');

/**
 * Decisions as the WIT `decisions` record: verdict 0 drops, i > 0 keeps with
 * `policies[i - 1]`.
 * @param {Decision[]} decisions
 * @param {string} method
 */
export function encodeDecisions(decisions, method) {
  if (!Array.isArray(decisions)) {
    throw new TypeError(`${method} must return an array of Decision, not ${describe(decisions)}`);
  }
  const verdicts = new Uint16Array(decisions.length);
  const policies = [];
  const indexes = new Map();
  for (let i = 0; i < decisions.length; i++) {
    const decision = decisions[i];
    if (!(decision instanceof Decision)) {
      throw new TypeError(`${method}: decision ${i} is not a Decision (Decision.drop or Decision.keep(policy)) but ${describe(decision)}`);
    }
    if (!decision.keep) {
      continue;
    }
    let verdict = indexes.get(decision.policy);
    if (verdict === undefined) {
      policies.push(decision.policy);
      verdict = policies.length;
      if (verdict > 0xffff) {
        throw new RangeError(`${method}: more than 65535 distinct policies`);
      }
      indexes.set(decision.policy, verdict);
    }
    verdicts[i] = verdict;
  }
  return { verdicts, policies };
}

/**
 * A sampler class as the `sampler` interface:
 * `export const sampler = exportSampler(MySampler)`.
 *
 * The class: `static init(config) => { plugin, needs, tail? }` where `tail` is
 * `{ decisionWaitMillis, maxTraces, maxSpansPerTrace }` to tail-sample;
 * `sampleHead(batch) => Decision[]` (one per span) and optionally
 * `sampleTail(batch) => Decision[]` (one per distinct trace id, in order of first
 * appearance: see `traceIdsInOrder`; the default keeps every trace).
 */
export function exportSampler(Plugin) {
  checkPluginClass(Plugin, 'Sampler', ['sampleHead']);
  let instance = null;
  let needs = null;
  const withPlugin = (what, call) =>
    guard(what, () => {
      if (instance === null) {
        throw new PluginError(NOT_INITIALISED);
      }
      return call(instance);
    });
  return {
    init(config) {
      instance = null;
      needs = null;
      return guard('init', () => {
        const result = initResult(Plugin, config, ['sampleHead']);
        instance = result.plugin;
        needs = result.needs;
        return { needs: needs.toWit(), tail: tailSettings(result.tail) };
      });
    },
    sampleHead(raw) {
      return withPlugin('sampleHead', (plugin) => {
        const batch = new SpanBatch(raw, needs);
        const decisions = plugin.sampleHead(batch);
        if (Array.isArray(decisions) && decisions.length !== batch.len) {
          throw new PluginError(`sampleHead returned ${decisions.length} decisions for ${batch.len} spans`);
        }
        return encodeDecisions(decisions, 'sampleHead');
      });
    },
    sampleTail(raw) {
      return withPlugin('sampleTail', (plugin) => {
        const batch = new SpanBatch(raw, needs);
        const decisions = sampleTail(plugin, batch);
        return encodeDecisions(decisions, 'sampleTail');
      });
    },
  };
}

/** A sampler's tail decisions, or the default (keep every trace). */
export function sampleTail(plugin, batch) {
  if (typeof plugin.sampleTail === 'function') {
    return plugin.sampleTail(batch);
  }
  // The default needs nothing declared: it counts traces without reading their ids
  // through the checked accessor.
  const unchecked = new SpanBatch(batch.raw, null);
  const seen = new Set();
  for (let i = 0; i < unchecked.len; i++) {
    seen.add(unchecked.span(i).traceId);
  }
  return Array.from(seen, () => Decision.keep(''));
}

function tailSettings(tail) {
  if (tail === undefined || tail === null) {
    return undefined;
  }
  const { decisionWaitMillis, maxTraces, maxSpansPerTrace } = tail;
  return {
    decisionWaitMillis: BigInt(decisionWaitMillis),
    maxTraces: maxTraces >>> 0,
    maxSpansPerTrace: maxSpansPerTrace >>> 0,
  };
}

/** Metric values as the WIT `metric-value` variant. */
export const MetricValue = Object.freeze({
  counter: (value) => ({ tag: 'counter', val: Number(value) }),
  gauge: (value) => ({ tag: 'gauge', val: Number(value) }),
  /**
   * @param {{upperBounds: number[], bucketCounts: (number|bigint)[], sum: number, count: number|bigint}} histogram
   *   cumulative bucket counts per upper bound
   */
  histogram: ({ upperBounds, bucketCounts, sum, count }) => ({
    tag: 'histogram',
    val: {
      upperBounds: Float64Array.from(upperBounds),
      bucketCounts: BigUint64Array.from(bucketCounts, (n) => BigInt(n)),
      sum: Number(sum),
      count: BigInt(count),
    },
  }),
});

/**
 * A metrics class as the `metrics` interface:
 * `export const metrics = exportMetrics(MyMetrics)`.
 *
 * The class: `static init(config) => { plugin, needs }`, `observe(batch): void` and
 * `collect(nowUnixNanos: bigint) => MetricPoint[]` with points
 * `{ name, help, labels: [[k, v], ...], value: MetricValue.counter(n), exemplar? }`.
 */
export function exportMetrics(Plugin) {
  checkPluginClass(Plugin, 'Metrics', ['observe', 'collect']);
  let instance = null;
  let needs = null;
  return {
    init(config) {
      instance = null;
      needs = null;
      return guard('init', () => {
        const result = initResult(Plugin, config, ['observe', 'collect']);
        instance = result.plugin;
        needs = result.needs;
        return needs.toWit();
      });
    },
    observe(raw) {
      return guard('observe', () => {
        if (instance === null) {
          throw new PluginError(NOT_INITIALISED);
        }
        instance.observe(new SpanBatch(raw, needs));
      });
    },
    collect(nowUnixNanos) {
      // `collect` cannot answer an error: before init there are no series, and an
      // exception is logged, then traps (the host counts a failure).
      if (instance === null) {
        return [];
      }
      try {
        return normalizePoints(instance.collect(nowUnixNanos));
      } catch (error) {
        failure('collect', error);
        throw error;
      }
    },
  };
}

/** Metric points with defaults filled in (help "", no labels, no exemplar). */
export function normalizePoints(points) {
  if (!Array.isArray(points)) {
    throw new TypeError(`collect must return an array of metric points, not ${describe(points)}`);
  }
  return points.map((point) => ({
    name: point.name,
    help: point.help ?? '',
    labels: point.labels ?? [],
    value: point.value,
    exemplar: point.exemplar ?? undefined,
  }));
}
