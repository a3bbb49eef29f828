import type { Driver, InsertSequence } from '../harness.js';

/** What the benchmark can drive. ringstore and any-node share one cluster (and its data). */
export type TargetName = 'ringstore' | 'any-node' | 'echo' | 'etcd';
export const targetNames: readonly TargetName[] = ['ringstore', 'any-node', 'echo', 'etcd'];

export type BackendKind = 'ringstore' | 'echo' | 'etcd';

export function backendOf(target: TargetName): BackendKind {
  return target === 'any-node' ? 'ringstore' : target;
}

/** A running server (started by the bench, or given by address) that targets drive. */
export interface Backend {
  readonly kind: BackendKind;
  /** One line for the report: what runs where. */
  readonly description: string;
  /** Record numbers for inserts, continued across every run against this data. */
  readonly inserts: InsertSequence;
  driver(target: TargetName): Promise<Driver>;
  /** Stops what the bench started (by pid); leaves a given address alone. */
  stop(): Promise<void>;
}

export interface BackendOptions {
  /** Nodes (ringstore) or members (etcd) to start. */
  readonly nodes: number;
  /** Addresses of a running server instead of starting one. */
  readonly addresses?: readonly string[] | undefined;
  readonly deadlineMs: number;
  readonly valueBytes: number;
  /** Scratch directory for data and logs of what the bench starts. */
  readonly workDir: string;
  /** Records already loaded: inserts start after them. */
  readonly records: number;
  /** Ringstore only: write a V8 CPU profile of every node here (node --cpu-prof). */
  readonly profileDir?: string | undefined;
  /** etcd only: the etcd binary. */
  readonly etcdBin?: string | undefined;
}
