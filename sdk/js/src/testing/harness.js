// Harnesses: a plugin class driven the way the host drives its component. Each one goes
// through the same exported glue the component uses (`exportProcessor` & co.), with
// batches encoded into the real buffers and answers decoded from them, so a native test
// exercises everything but the engine.

import { Decision, exportMetrics, exportProcessor, exportSampler } from '../export.js';
import { AttributeSelection, FIELD_NAMES, Needs } from '../needs.js';
import { applyEdits } from './apply.js';
import { encode } from './encode.js';

/** A call that failed the way it fails in the gateway: the message is the WIT `err`. */
export class PluginCallError extends Error {
  constructor(message) {
    super(message);
    this.name = 'PluginCallError';
  }
}

/** Calls an exported function; a thrown string (WIT `err`) becomes a PluginCallError. */
function call(fn) {
  try {
    return fn();
  } catch (error) {
    if (typeof error === 'string') {
      throw new PluginCallError(error);
    }
    throw error;
  }
}

function selectionFromWit(selection) {
  return selection.tag === 'keys'
    ? AttributeSelection.keys(selection.val)
    : { none: AttributeSelection.none, 'all-strings': AttributeSelection.allStrings, all: AttributeSelection.all }[selection.tag];
}

/** The WIT `needs` record (as init returned it) back as a `Needs`. */
export function needsFromWit(wit) {
  let bits = 0;
  for (const [bit, , property] of FIELD_NAMES) {
    if (wit.fields[property]) {
      bits |= bit;
    }
  }
  return new Needs(wit.name, wit.version)
    .fields(bits)
    .spanAttributes(selectionFromWit(wit.spanAttributes))
    .resourceAttributes(selectionFromWit(wit.resourceAttributes))
    .eventAttributes(selectionFromWit(wit.eventAttributes))
    .linkAttributes(selectionFromWit(wit.linkAttributes));
}

function decisionsFromWit({ verdicts, policies }) {
  return Array.from(verdicts, (verdict) => {
    if (verdict === 0) {
      return Decision.drop;
    }
    if (verdict > policies.length) {
      throw new PluginCallError(`verdict ${verdict} names no policy (there are ${policies.length})`);
    }
    return Decision.keep(policies[verdict - 1]);
  });
}

/**
 * Runs a processor class: `new ProcessorHarness(MyPlugin, '{"key": 1}')` calls init
 * (throwing a PluginCallError with the plugin's message if it refuses), then
 * `process(spans)` returns the spans after its edits, applied with the host's checks.
 */
export class ProcessorHarness {
  constructor(Plugin, config = '') {
    this.exports = exportProcessor(Plugin);
    /** The needs init returned. */
    this.needs = needsFromWit(call(() => this.exports.init(config)));
  }

  /** The spans after the plugin's edits (dropped spans removed). */
  process(spans) {
    return applyEdits(spans, this.needs, this.answer(spans));
  }

  /** The raw WIT answer (`{ records, strings }`) for `spans`. */
  answer(spans) {
    const { batch } = encode(spans, this.needs);
    return call(() => this.exports.process(batch));
  }

  /** The batch the host would send for `spans` (the WIT `span-batch`). */
  batch(spans) {
    return encode(spans, this.needs).batch;
  }
}

/** Runs a sampler class, checking the answers have the length the host requires. */
export class SamplerHarness {
  constructor(Plugin, config = '') {
    this.exports = exportSampler(Plugin);
    const wit = call(() => this.exports.init(config));
    this.needs = needsFromWit(wit.needs);
    /** The tail settings init returned, or undefined. */
    this.tail = wit.tail;
  }

  /** The batch the host would send for `spans` (the WIT `span-batch`). */
  batch(spans) {
    return encode(spans, this.needs).batch;
  }

  /** One Decision per span. */
  sampleHead(spans) {
    const { batch } = encode(spans, this.needs);
    const decisions = decisionsFromWit(call(() => this.exports.sampleHead(batch)));
    if (decisions.length !== spans.length) {
      throw new PluginCallError(`sampleHead returned ${decisions.length} decisions for ${spans.length} spans`);
    }
    return decisions;
  }

  /**
   * One `[traceId, Decision]` per distinct trace id, in order of first appearance. The
   * count is checked against the spans' real trace ids, so a sampler that did not
   * declare `trace-id` is caught here.
   */
  sampleTail(spans) {
    const { batch } = encode(spans, this.needs);
    const decisions = decisionsFromWit(call(() => this.exports.sampleTail(batch)));
    const traces = [...new Set(spans.map((span) => span.traceId))];
    if (decisions.length !== traces.length) {
      throw new PluginCallError(`sampleTail returned ${decisions.length} decisions for ${traces.length} traces`);
    }
    return traces.map((traceId, index) => [traceId, decisions[index]]);
  }
}

/** Runs a metrics class. */
export class MetricsHarness {
  constructor(Plugin, config = '') {
    this.exports = exportMetrics(Plugin);
    this.needs = needsFromWit(call(() => this.exports.init(config)));
  }

  /** The batch the host would send for `spans` (the WIT `span-batch`). */
  batch(spans) {
    return encode(spans, this.needs).batch;
  }

  observe(spans) {
    const { batch } = encode(spans, this.needs);
    call(() => this.exports.observe(batch));
  }

  /** @param {bigint|number} nowUnixNanos */
  collect(nowUnixNanos) {
    return this.exports.collect(BigInt(nowUnixNanos));
  }
}
