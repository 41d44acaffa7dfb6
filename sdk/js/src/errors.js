// Errors a plugin throws on purpose.

/**
 * An expected failure: throwing it from `init` or a batch method fails that call with
 * its message (`err(message)` in WIT), and nothing is logged. Anything else thrown is a
 * bug: the SDK logs it at error level with its stack, then fails the call.
 */
export class PluginError extends Error {
  constructor(message) {
    super(message);
    this.name = 'PluginError';
  }
}
