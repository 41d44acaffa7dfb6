/// <reference path="./spangate-plugin-types.d.ts" />
declare module 'spangate:plugin/processor@0.2.0' {
  /**
   * Called once per instance, before anything else, with the plugin's config as JSON
   * text; an error refuses the plugin and stops start-up with its message.
   */
  export function init(config: string): Needs;
  export function process(batch: SpanBatch): Edits;
  export type SpanBatch = import('spangate:plugin/types@0.2.0').SpanBatch;
  export type Edits = import('spangate:plugin/types@0.2.0').Edits;
  export type Needs = import('spangate:plugin/types@0.2.0').Needs;
}
