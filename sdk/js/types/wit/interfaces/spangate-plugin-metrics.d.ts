/// <reference path="./spangate-plugin-types.d.ts" />
declare module 'spangate:plugin/metrics@0.2.0' {
  /**
   * Called once per instance, before anything else, with the plugin's config as JSON
   * text; an error refuses the plugin and stops start-up with its message.
   */
  export function init(config: string): Needs;
  export function observe(batch: SpanBatch): void;
  /**
   * The current value of every series; called on each scrape and export interval.
   */
  export function collect(nowUnixNanos: bigint): Array<MetricPoint>;
  export type SpanBatch = import('spangate:plugin/types@0.2.0').SpanBatch;
  export type MetricPoint = import('spangate:plugin/types@0.2.0').MetricPoint;
  export type Needs = import('spangate:plugin/types@0.2.0').Needs;
}
