import type { ConnectOptions, RoutingMode } from '@ringstore/client';
import type { Driver, InsertSequence } from '../harness.js';

/**
 * What the benchmark can drive. ringstore, ringstore-unary and any-node share one cluster (and
 * its data): ringstore is the SDK as shipped (zero-hop, Get/Put/Delete over one KV.Session
 * stream per node), ringstore-unary the same with one unary RPC per call; ringstore-tls is
 * zero-hop on a cluster of its own, secured (TLS on both ports, client certificates, a token),
 * for TLS on vs off from one run. echo and echo-session share one no-op server: the ceiling of
 * one unary RPC per operation, and of the session's frames. echo-quorum and echo-quorum-session
 * share three such servers that relay each call's replica messages to each other as a node does
 * (N=3, R=W=2): the floor of a replicated request on grpc-js, without storage or versions.
 */
export type TargetName =
  | 'ringstore'
  | 'ringstore-unary'
  | 'ringstore-tls'
  | 'any-node'
  | 'echo'
  | 'echo-session'
  | 'echo-quorum'
  | 'echo-quorum-session'
  | 'etcd';
export const targetNames: readonly TargetName[] = [
  'ringstore',
  'ringstore-unary',
  'ringstore-tls',
  'any-node',
  'echo',
  'echo-session',
  'echo-quorum',
  'echo-quorum-session',
  'etcd',
];

export type BackendKind = 'ringstore' | 'ringstore-tls' | 'echo' | 'echo-quorum' | 'etcd';

/** The backend a target runs against; `tls` (--tls) secures the ringstore and any-node cluster. */
export function backendOf(target: TargetName, tls: boolean): BackendKind {
  if (target === 'ringstore' || target === 'any-node' || target === 'ringstore-unary')
    return tls ? 'ringstore-tls' : 'ringstore';
  if (target === 'echo-session') return 'echo';
  if (target === 'echo-quorum-session') return 'echo-quorum';
  return target;
}

/** How a ringstore driver's client reaches the nodes: nothing (plaintext), or TLS and a token. */
export type DriverSecurity = Pick<ConnectOptions, 'tls' | 'token'>;

/**
 * Everything a driver of a target is built from, as data (structured-clone safe: strings,
 * numbers, the PEM Buffers of `security`), so a load worker process (--client-procs) builds the
 * same driver as the bench process does (driverFromSpec, targets/driver-spec.ts).
 */
export type DriverSpec = RingstoreDriverSpec | EchoDriverSpec | EtcdDriverSpec;

export interface RingstoreDriverSpec {
  readonly kind: 'ringstore';
  readonly seeds: readonly string[];
  readonly routing: RoutingMode;
  readonly deadlineMs: number;
  /** Get/Put/Delete over one KV.Session stream per node (the SDK's default), or unary calls. */
  readonly sessions: boolean;
  readonly security: DriverSecurity;
}

export interface EchoDriverSpec {
  readonly kind: 'echo';
  /** The echo server, or the three of echo-quorum: calls go round-robin over them. */
  readonly addresses: readonly string[];
  readonly deadlineMs: number;
  /** Over one KV.Session stream per server (echo-session), or unary calls (echo). */
  readonly session: boolean;
}

export interface EtcdDriverSpec {
  readonly kind: 'etcd';
  readonly addresses: readonly string[];
  readonly deadlineMs: number;
}

/** A running server (started by the bench, or given by address) that targets drive. */
export interface Backend {
  readonly kind: BackendKind;
  /** One line for the report: what runs where. */
  readonly description: string;
  /** Record numbers for inserts, continued across every run against this data. */
  readonly inserts: InsertSequence;
  /**
   * A driver of `target`, built from driverSpec(target). Ringstore's drivers of one backend share
   * one cache of causal contexts (ringstoreDriver); a load worker's driver has its own.
   */
  driver(target: TargetName): Promise<Driver>;
  /** What a load worker process builds its own driver of `target` from. */
  driverSpec(target: TargetName): DriverSpec;
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
