import type { Driver, InsertSequence } from '../harness.js';

/**
 * What the benchmark can drive. ringstore, ringstore-unary and any-node share one cluster (and
 * its data): ringstore is the SDK as shipped (zero-hop, Get/Put/Delete over one KV.Session
 * stream per node), ringstore-unary the same with one unary RPC per call; ringstore-tls is
 * zero-hop on a cluster of its own, secured (TLS on both ports, client certificates, a token),
 * for TLS on vs off from one run. echo and echo-session share one no-op server: the ceiling of
 * one unary RPC per operation, and of the session's frames.
 */
export type TargetName =
  'ringstore' | 'ringstore-unary' | 'ringstore-tls' | 'any-node' | 'echo' | 'echo-session' | 'etcd';
export const targetNames: readonly TargetName[] = [
  'ringstore',
  'ringstore-unary',
  'ringstore-tls',
  'any-node',
  'echo',
  'echo-session',
  'etcd',
];

export type BackendKind = 'ringstore' | 'ringstore-tls' | 'echo' | 'etcd';

/** The backend a target runs against; `tls` (--tls) secures the ringstore and any-node cluster. */
export function backendOf(target: TargetName, tls: boolean): BackendKind {
  if (target === 'ringstore' || target === 'any-node' || target === 'ringstore-unary')
    return tls ? 'ringstore-tls' : 'ringstore';
  if (target === 'echo-session') return 'echo';
  return target;
}

/** A running server (started by the bench, or given by address) that targets drive. */
export interface Backend {
  readonly kind: BackendKind;
  /** One line for the report: what runs where. */
  readonly description: string;
  /** Record numbers for inserts, continued across every run against this data. */
  readonly inserts: InsertSequence;
  driver(target: TargetName): Promise<Driver>;
  /**
   * CPU seconds the servers have used so far, all processes together; undefined when the bench
   * cannot see them (a given address, echo, etcd).
   */
  readonly cpuSeconds: (() => Promise<number>) | undefined;
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
