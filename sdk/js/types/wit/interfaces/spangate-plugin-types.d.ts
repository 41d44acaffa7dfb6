declare module 'spangate:plugin/types@0.2.0' {
  /**
   * The byte values of the batch's `kind` column are these cases' indexes (OTLP's).
   * # Variants
   * 
   * ## `"unspecified"`
   * 
   * ## `"internal"`
   * 
   * ## `"server"`
   * 
   * ## `"client"`
   * 
   * ## `"producer"`
   * 
   * ## `"consumer"`
   */
  export type SpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  /**
   * The byte values of the batch's `status` column are these cases' indexes.
   * # Variants
   * 
   * ## `"unset"`
   * 
   * ## `"ok"`
   * 
   * ## `"error"`
   */
  export type StatusCode = 'unset' | 'ok' | 'error';
  /**
   * The byte values of an attribute table's `kind` column (and of an edit record's
   * value kind, where `json` is not allowed) are these cases' indexes.
   * # Variants
   * 
   * ## `"str"`
   * 
   * ## `"int"`
   * 
   * ## `"double"`
   * 
   * ## `"boolean"`
   * 
   * ## `"json"`
   */
  export type ValueKind = 'str' | 'int' | 'double' | 'boolean' | 'json';
  /**
   * # Variants
   * 
   * ## `"trace"`
   * 
   * ## `"debug"`
   * 
   * ## `"info"`
   * 
   * ## `"warn"`
   * 
   * ## `"error"`
   */
  export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /**
   * Span fields a plugin may read. Undeclared columns arrive empty.
   */
  export interface SpanFields {
    traceId?: boolean,
    spanId?: boolean,
    parentSpanId?: boolean,
    serviceName?: boolean,
    name?: boolean,
    kind?: boolean,
    times?: boolean,
    status?: boolean,
    statusMessage?: boolean,
    /**
     * Encoded size of the span in bytes (span-metrics' `size_total`).
     */
    size?: boolean,
    /**
     * Event names (and the per-span event ranges).
     */
    eventNames?: boolean,
  }
  /**
   * Which attributes of a kind (span or resource) a plugin reads.
   */
  export type AttributeSelection = AttributeSelectionNone | AttributeSelectionKeys | AttributeSelectionAllStrings | AttributeSelectionAll;
  export interface AttributeSelectionNone {
    tag: 'none',
  }
  /**
   * Only these keys.
   */
  export interface AttributeSelectionKeys {
    tag: 'keys',
    val: Array<string>,
  }
  /**
   * Every attribute with a string value.
   */
  export interface AttributeSelectionAllStrings {
    tag: 'all-strings',
  }
  /**
   * Every attribute; values that are not scalars (arrays, maps, bytes) arrive as JSON text.
   */
  export interface AttributeSelectionAll {
    tag: 'all',
  }
  /**
   * What `init` returns: the plugin's name and version, and what it reads.
   */
  export interface Needs {
    name: string,
    version: string,
    fields: SpanFields,
    spanAttributes: AttributeSelection,
    resourceAttributes: AttributeSelection,
    eventAttributes: AttributeSelection,
    linkAttributes: AttributeSelection,
  }
  /**
   * A sampler's tail settings: the host holds each trace for `decision-wait-millis`
   * after its first span (persisted, so a crash loses nothing acknowledged), then asks
   * `sample-tail` about the whole trace.
   */
  export interface TailSettings {
    decisionWaitMillis: bigint,
    /**
     * Pending traces the host holds at most; past it the oldest is decided early.
     */
    maxTraces: number,
    /**
     * Spans per pending trace the host holds at most; past it the trace is decided early.
     */
    maxSpansPerTrace: number,
  }
  /**
   * What a sampler's `init` returns: its needs, and tail settings if it tail-samples
   * (`none`: `sample-tail` is never called).
   */
  export interface SamplerNeeds {
    needs: Needs,
    tail?: TailSettings,
  }
  /**
   * A batch of spans, as two buffers (layout: wit/README.md, "Batch layout").
   * 
   * `columns` starts with a directory of 36 entries, one per column, each a
   * little-endian `u32` byte offset into `columns` and a `u32` element count (count 0:
   * the column is absent, because the plugin did not declare it or the batch has no
   * such items). Each column starts at a multiple of 8 and holds `count` fixed-width
   * little-endian elements: span fields indexed by span, event and link ranges per
   * span, string references, and four attribute tables (span, resource, event, link).
   * A string reference is two `u32`s, byte offset and length, into `strings` (UTF-8).
   * Only the columns the receiving plugin declared in its needs are filled.
   */
  export interface SpanBatch {
    /**
     * Number of spans.
     */
    len: number,
    columns: Uint8Array,
    strings: Uint8Array,
  }
  /**
   * A processor's answer: edit records of 24 bytes each (layout: wit/README.md,
   * "Edit records"), whose string values are references into `strings`.
   * 
   * The host checks every edit (it addresses a row, span or event of the batch and a
   * field the plugin declared; a row is not both set and removed) and applies the
   * answer whole or, if any edit is invalid, not at all.
   */
  export interface Edits {
    records: Uint8Array,
    strings: Uint8Array,
  }
  /**
   * A sampler's answer: one verdict per span (head) or per trace (tail). Verdict 0
   * drops; verdict i > 0 keeps, and `policies[i - 1]` names the policy that kept it
   * (recorded on the spans as `sampling.policy` by tail sampling).
   */
  export interface Decisions {
    verdicts: Uint16Array,
    policies: Array<string>,
  }
  export interface HistogramValue {
    upperBounds: Float64Array,
    bucketCounts: BigUint64Array,
    sum: number,
    count: bigint,
  }
  export type MetricValue = MetricValueCounter | MetricValueGauge | MetricValueHistogram;
  export interface MetricValueCounter {
    tag: 'counter',
    val: number,
  }
  export interface MetricValueGauge {
    tag: 'gauge',
    val: number,
  }
  /**
   * Cumulative bucket counts for the upper bounds of the series, plus sum and count.
   */
  export interface MetricValueHistogram {
    tag: 'histogram',
    val: HistogramValue,
  }
  export interface Exemplar {
    traceIdHi: bigint,
    traceIdLo: bigint,
    spanId: bigint,
    value: number,
    timeUnixNanos: bigint,
  }
  export interface MetricPoint {
    name: string,
    help: string,
    labels: Array<[string, string]>,
    value: MetricValue,
    exemplar?: Exemplar,
  }
}
