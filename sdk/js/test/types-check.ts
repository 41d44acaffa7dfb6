// Compiled (not run) by test/types.test.js with `tsc --noEmit`: the .d.ts files
// describe the API the way a TypeScript plugin uses it.
import {
  AttributeSelection,
  Decision,
  Needs,
  SpanFields,
  exportProcessor,
  exportSampler,
  parseConfig,
  t,
  type Edits,
  type SpanBatch,
} from '@spangate/plugin-sdk';
import { ProcessorHarness, TestSpan } from '@spangate/plugin-sdk/testing';

const schema = { keys: t.list(t.string(), { default: [] }), slow_ms: t.uint({ default: 1000 }) };

class Typed {
  static init(text: string) {
    const config = parseConfig(text, schema);
    const keys: string[] = config.keys;
    const slow: number = config.slow_ms;
    const needs = new Needs('typed', '1.0.0').fields(SpanFields.NAME | SpanFields.TIMES).spanAttributes(AttributeSelection.keys(keys));
    return { plugin: new Typed(BigInt(slow)), needs };
  }

  constructor(private readonly slow: bigint) {}

  process(batch: SpanBatch, edits: Edits): void {
    for (const span of batch.spans()) {
      const name: string = span.name;
      if (span.durationNanos >= this.slow) {
        edits.addSpanAttribute(span.index, 'slow', true);
      }
      for (const attribute of span.attributes) {
        const row: number = attribute.row;
        if (attribute.kind === 'str') edits.setSpanAttribute(row, `<${attribute.byteLength}>`);
      }
      edits.setName(span.index, name.toUpperCase());
    }
  }
}

export const processor = exportProcessor(Typed);

class Sampler {
  static init() {
    return { plugin: new Sampler(), needs: new Needs('s', '1'), tail: { decisionWaitMillis: 10, maxTraces: 1, maxSpansPerTrace: 1 } };
  }

  sampleHead(batch: SpanBatch): Decision[] {
    return Array.from(batch.spans(), () => Decision.keep('p'));
  }
}

export const sampler = exportSampler(Sampler);

const harness = new ProcessorHarness(Typed, '{}');
const out: TestSpan[] = harness.process([new TestSpan({ name: 'a', start: 0n, end: 5n, attributes: { k: 'v', n: 1 } })]);
const value: string | bigint | number | boolean | undefined = out[0].attribute('k');
void value;
