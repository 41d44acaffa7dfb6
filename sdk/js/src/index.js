// @spangate/plugin-sdk: write Spangate plugins (WebAssembly components) in JavaScript.
//
// - a plugin class per kind, exported with `exportProcessor`, `exportSampler` or
//   `exportMetrics`;
// - `SpanBatch` / `SpanView`: per-span getters over the column batch the host sends;
// - `Edits`: the changes a processor answers with;
// - `parseConfig` + `t`: typed config with errors naming the key;
// - `log`, `nowUnixNanos`: the gateway's log and clock;
// - '@spangate/plugin-sdk/testing': the native harness (plain `node --test`).

export { Needs, SpanFields, AttributeSelection } from './needs.js';
export {
  SpanBatch,
  SpanView,
  EventView,
  LinkView,
  Attributes,
  Attribute,
  UndeclaredFieldError,
  traceIdsInOrder,
} from './batch.js';
export { Edits, decodeEdits } from './edits.js';
export { Value, utf8Length } from './values.js';
export { parseConfig, t, ConfigError } from './config.js';
export { PluginError } from './errors.js';
export { log, nowUnixNanos, LogLevel, isNative } from './host.js';
export { exportProcessor, exportSampler, exportMetrics, Decision, MetricValue } from './export.js';
export { LayoutError, WIT_VERSION } from './abi.js';
export * as abi from './abi.js';

/** Span kinds, as the WIT `span-kind` enum names them. */
export const SpanKind = Object.freeze({
  UNSPECIFIED: 'unspecified',
  INTERNAL: 'internal',
  SERVER: 'server',
  CLIENT: 'client',
  PRODUCER: 'producer',
  CONSUMER: 'consumer',
});

/** Status codes, as the WIT `status-code` enum names them. */
export const StatusCode = Object.freeze({ UNSET: 'unset', OK: 'ok', ERROR: 'error' });
