/// <reference path="./spangate-plugin-types.d.ts" />
declare module 'spangate:plugin/sampler@0.2.0' {
  /**
   * Called once per instance, before anything else, with the plugin's config as JSON
   * text; an error refuses the plugin and stops start-up with its message.
   */
  export function init(config: string): SamplerNeeds;
  /**
   * One decision per span of the batch, in order.
   */
  export function sampleHead(batch: SpanBatch): Decisions;
  /**
   * The batch holds whole traces; returns one decision per distinct trace id, in
   * order of first appearance.
   */
  export function sampleTail(batch: SpanBatch): Decisions;
  export type SpanBatch = import('spangate:plugin/types@0.2.0').SpanBatch;
  export type Decisions = import('spangate:plugin/types@0.2.0').Decisions;
  export type SamplerNeeds = import('spangate:plugin/types@0.2.0').SamplerNeeds;
}
