// {{name}}: a Spangate processor, made by `spangate plugin new --lang js`.
//
// Every span gets the attribute `plugin.hello = "world"`; spans named exactly like the
// config key `drop_name` are dropped.

import { AttributeSelection, Needs, SpanFields, exportProcessor, parseConfig, t } from '@spangate/plugin-sdk';

// The `config:` of the plugin's pipeline entry: every key optional; an unknown key or a
// wrong type refuses the config, naming the key.
const CONFIG = {
  // Spans with exactly this name are dropped ("" drops nothing).
  drop_name: t.string({ default: '' }),
};

export class Plugin {
  /** @param {string} configText the plugin's config as JSON text */
  static init(configText) {
    const config = parseConfig(configText, CONFIG);
    // What the plugin reads: span names, and the one attribute it adds (adding an
    // attribute needs a span-attribute selection). The gateway sends nothing else.
    const needs = new Needs('{{name}}', '0.1.0')
      .fields(SpanFields.NAME)
      .spanAttributes(AttributeSelection.keys(['plugin.hello']));
    return { plugin: new Plugin(config), needs };
  }

  constructor(config) {
    this.dropName = config.drop_name;
  }

  /**
   * @param {import('@spangate/plugin-sdk').SpanBatch} batch
   * @param {import('@spangate/plugin-sdk').Edits} edits
   */
  process(batch, edits) {
    for (const span of batch.spans()) {
      if (this.dropName !== '' && span.name === this.dropName) {
        edits.dropSpan(span.index);
        continue;
      }
      edits.addSpanAttribute(span.index, 'plugin.hello', 'world');
    }
  }
}

/** The component's `processor` export. */
export const processor = exportProcessor(Plugin);
