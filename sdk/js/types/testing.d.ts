// Types of '@spangate/plugin-sdk/testing': the native harness.

import type {
  AttributeInput,
  Decision,
  MetricsClass,
  MetricsExports,
  Needs,
  ProcessorClass,
  ProcessorExports,
  SamplerClass,
  SamplerExports,
  SpanKind,
  StatusCode,
  Value,
  Wit,
} from './index.js';

export type Attributes = Record<string, AttributeInput> | Array<[string, AttributeInput]>;

export interface TestSpanOptions {
  traceId?: bigint | number | string | Uint8Array;
  spanId?: bigint | number | string | Uint8Array;
  parentSpanId?: bigint | number | string | Uint8Array | null;
  serviceName?: string;
  /** Alias of serviceName. */
  service?: string;
  name?: string;
  kind?: SpanKind;
  startUnixNanos?: bigint | number;
  /** Alias of startUnixNanos. */
  start?: bigint | number;
  endUnixNanos?: bigint | number;
  /** Alias of endUnixNanos. */
  end?: bigint | number;
  status?: StatusCode;
  statusMessage?: string;
  attributes?: Attributes;
  resourceAttributes?: Attributes;
  events?: Array<{ name?: string; attributes?: Attributes }>;
  links?: Array<{ attributes?: Attributes }>;
}

/** A span for tests, with everything a plugin could ask for. */
export class TestSpan {
  constructor(options?: TestSpanOptions);
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  serviceName: string;
  name: string;
  kind: SpanKind;
  startUnixNanos: bigint;
  endUnixNanos: bigint;
  status: StatusCode;
  statusMessage: string;
  attributes: Array<[string, Value]>;
  resourceAttributes: Array<[string, Value]>;
  events: Array<{ name: string; attributes: Array<[string, Value]> }>;
  links: Array<{ attributes: Array<[string, Value]> }>;
  clone(): TestSpan;
  /** The plain value of the first span attribute named `key`. */
  attribute(key: string): string | bigint | number | boolean | undefined;
  attributeMap(): Record<string, string | bigint | number | boolean>;
  resourceAttributeMap(): Record<string, string | bigint | number | boolean>;
  estimatedSize(): number;
}

export interface Encoding {
  batch: Wit.SpanBatch;
  spanRows: Array<[number, number]>;
  resourceSpans: number[][];
  resourceRows: Array<[number, number]>;
  events: Array<[number, number]>;
  eventRows: Array<[number, number]>;
  links: Array<[number, number]>;
  linkRows: Array<[number, number]>;
}

/** The batch the host would send for `spans` to a plugin with `needs`. */
export function encode(spans: TestSpan[], needs: Needs): Encoding;

/** Builds a batch column by column. */
export class BatchBuilder {
  constructor();
  count(column: number): number;
  pushU8(column: number, value: number): void;
  pushU32(column: number, value: number): void;
  pushU64(column: number, value: bigint | number): void;
  pushF64(column: number, value: number): void;
  pushId(column: number, bytes: Uint8Array): void;
  addString(text: string): [number, number];
  pushStr(column: number, text: string): void;
  pushRef(column: number, offset: number, length: number): void;
  finish(len: number): Wit.SpanBatch;
}

/** An answer the host would refuse; the message names the edit. */
export class EditError extends Error {}

/** The spans after a processor's answer, applied with the host's checks. */
export function applyEdits(spans: TestSpan[], needs: Needs, edits: Wit.Edits): TestSpan[];
/** The spans head decisions keep. */
export function applyDecisions(spans: TestSpan[], decisions: Decision[]): TestSpan[];

/** A call that failed: the message is the WIT err the gateway would see. */
export class PluginCallError extends Error {}

export function needsFromWit(needs: Wit.Needs): Needs;

export class ProcessorHarness {
  /** Calls init; throws PluginCallError if the plugin refuses. */
  constructor(plugin: ProcessorClass, config?: string);
  readonly exports: ProcessorExports;
  readonly needs: Needs;
  /** The spans after the plugin's edits (dropped spans removed). */
  process(spans: TestSpan[]): TestSpan[];
  /** The raw WIT answer. */
  answer(spans: TestSpan[]): Wit.Edits;
  batch(spans: TestSpan[]): Wit.SpanBatch;
}

export class SamplerHarness {
  constructor(plugin: SamplerClass, config?: string);
  readonly exports: SamplerExports;
  readonly needs: Needs;
  readonly tail: Wit.TailSettings | undefined;
  batch(spans: TestSpan[]): Wit.SpanBatch;
  sampleHead(spans: TestSpan[]): Decision[];
  sampleTail(spans: TestSpan[]): Array<[string, Decision]>;
}

export class MetricsHarness {
  constructor(plugin: MetricsClass, config?: string);
  readonly exports: MetricsExports;
  readonly needs: Needs;
  batch(spans: TestSpan[]): Wit.SpanBatch;
  observe(spans: TestSpan[]): void;
  collect(nowUnixNanos: bigint | number): Wit.MetricPoint[];
}

/** The logs since the last call (native runs), as [level, message] pairs. */
export function takeLogs(): Array<[string, string]>;
/** Pins nowUnixNanos(); null returns to the system clock. */
export function setNow(unixNanos: bigint | number | null): void;
