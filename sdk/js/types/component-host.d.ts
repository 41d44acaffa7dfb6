// Types of '@spangate/plugin-sdk/component-host': run a built component in Node.

export interface LoadedComponent {
  /** The component's exports as jco binds them: `processor`, `sampler` or `metrics`. */
  exports: Record<string, any>;
  /** What the guest logged through `spangate:plugin/host`. */
  logs: Array<[string, string]>;
  /** Pins what now-unix-nanos returns (null: the clock). */
  setNow(unixNanos: bigint | null): void;
}

export function toolchainDir(): string;
export function loadComponent(wasmPath: string, options?: { now?: bigint }): Promise<LoadedComponent>;
