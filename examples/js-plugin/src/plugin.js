// The reference plugin, in JavaScript: the same behaviour as the Rust, Python and C
// versions (outputs must be identical).
//
// Per span, in batch order:
// - `drop_name` non-empty and equal to the span's name: drop the span, nothing else;
// - otherwise (1) each attribute in `mask_keys` whose value is a string becomes
//   `<masked:N>`, N the original value's length in UTF-8 bytes; (2) a span lasting at
//   least `slow_ms` gets `ref.slow = true`, then `ref.duration_ms = floor(duration / 1e6)`;
//   (3) an error span is renamed `<service>: <name>` (service `unknown` when empty).

import {
  AttributeSelection,
  Needs,
  SpanFields,
  exportProcessor,
  parseConfig,
  t,
} from '@spangate/plugin-sdk';

const CONFIG = {
  mask_keys: t.list(t.string(), { default: [] }),
  slow_ms: t.uint({ default: 1000 }),
  drop_name: t.string({ default: '' }),
};

export class Reference {
  /** @param {string} configText the plugin's config as JSON text */
  static init(configText) {
    const config = parseConfig(configText, CONFIG);
    const needs = new Needs('reference', '1.0.0')
      .fields(SpanFields.NAME | SpanFields.SERVICE_NAME | SpanFields.TIMES | SpanFields.STATUS)
      // The masked keys' rows; an empty list still lets the plugin add attributes.
      .spanAttributes(AttributeSelection.keys(config.mask_keys));
    return { plugin: new Reference(config), needs };
  }

  constructor(config) {
    this.maskKeys = new Set(config.mask_keys);
    this.slowNanos = BigInt(config.slow_ms) * 1000000n;
    this.dropName = config.drop_name;
  }

  /**
   * @param {import('@spangate/plugin-sdk').SpanBatch} batch
   * @param {import('@spangate/plugin-sdk').Edits} edits
   */
  process(batch, edits) {
    for (const span of batch.spans()) {
      const name = span.name;
      if (this.dropName !== '' && name === this.dropName) {
        edits.dropSpan(span.index);
        continue;
      }
      for (const attribute of span.attributes) {
        if (attribute.kind === 'str' && this.maskKeys.has(attribute.key)) {
          edits.setSpanAttribute(attribute.row, `<masked:${attribute.byteLength}>`);
        }
      }
      const duration = span.durationNanos;
      if (duration >= this.slowNanos) {
        edits.addSpanAttribute(span.index, 'ref.slow', true);
        edits.addSpanAttribute(span.index, 'ref.duration_ms', duration / 1000000n);
      }
      if (span.status === 'error') {
        edits.setName(span.index, `${span.serviceName || 'unknown'}: ${name}`);
      }
    }
  }
}

/** The component's `processor` export. */
export const processor = exportProcessor(Reference);
