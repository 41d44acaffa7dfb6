/// <reference path="./interfaces/spangate-plugin-host.d.ts" />
/// <reference path="./interfaces/spangate-plugin-sampler.d.ts" />
/// <reference path="./interfaces/spangate-plugin-types.d.ts" />
declare module 'spangate:plugin/sampler-plugin@0.2.0' {
  export type * as SpangatePluginHost020 from 'spangate:plugin/host@0.2.0'; // import spangate:plugin/host@0.2.0
  export type * as SpangatePluginTypes020 from 'spangate:plugin/types@0.2.0'; // import spangate:plugin/types@0.2.0
  export * as sampler from 'spangate:plugin/sampler@0.2.0'; // export spangate:plugin/sampler@0.2.0
}
