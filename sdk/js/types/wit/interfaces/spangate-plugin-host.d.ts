/// <reference path="./spangate-plugin-types.d.ts" />
declare module 'spangate:plugin/host@0.2.0' {
  export function log(level: LogLevel, message: string): void;
  export function nowUnixNanos(): bigint;
  export type LogLevel = import('spangate:plugin/types@0.2.0').LogLevel;
}
