// After the last heal: wait (bounded) until every partition's replicas hold the same Merkle root
// (hints delivered, anti-entropy done), then read every key with R=N through every node.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ClusterClient,
  KVClient,
  type GetResponse,
  type PartitionAntiEntropy,
} from '@ringstore/proto';
import type { NodeAccess } from './access.js';

/** Deadline of each GetAntiEntropy and final Get. */
export const rpcDeadlineMs = 3_000;
/** Attempts of each final read on one node before the key counts as unreadable there. */
export const readAttemptsMax = 5;
/** Final reads in flight per node. */
export const readsInFlightPerNode = 16;
/** Most polls of one wait: far past what --settle-ms allows (an hour is 14,400 polls of 250 ms). */
export const agreementPollsMax = 1_000_000;
/** Pause before a final read's next attempt, times the attempt: a node just restarted gets time. */
export const readRetryStepMs = 200;

export interface NodeAddress {
  readonly id: string;
  readonly address: string;
}

export interface Agreement {
  readonly agreed: boolean;
  readonly divergent: number;
  readonly partitions: number;
  /** Nodes that did not answer GetAntiEntropy. */
  readonly silent: readonly string[];
}

/** Pure: do the replicas of every partition report one root, with `replicas` replicas answering? */
export function agreementOf(
  states: ReadonlyMap<string, readonly PartitionAntiEntropy[] | undefined>,
  replicas: number,
): Agreement {
  const roots = new Map<number, string[]>();
  const silent: string[] = [];
  for (const [node, partitions] of states) {
    if (partitions === undefined) {
      silent.push(node);
      continue;
    }
    for (const p of partitions) roots.set(p.partition, [...(roots.get(p.partition) ?? []), p.root]);
  }
  let divergent = 0;
  for (const list of roots.values())
    if (list.length < replicas || new Set(list).size > 1) divergent++;
  return {
    agreed: silent.length === 0 && divergent === 0 && roots.size > 0,
    divergent,
    partitions: roots.size,
    silent,
  };
}

function antiEntropyOf(
  client: ClusterClient,
  access: NodeAccess,
): Promise<PartitionAntiEntropy[] | undefined> {
  return new Promise((resolve) => {
    client.getAntiEntropy(
      {},
      access.metadata(),
      { deadline: new Date(Date.now() + rpcDeadlineMs) },
      (e, res) => resolve(e === null ? res.partitions : undefined),
    );
  });
}

export interface WaitResult {
  readonly agreement: Agreement;
  /** ms from the call to the first poll that agreed; null when none did within settleMs. */
  readonly agreedAfterMs: number | null;
  readonly polls: number;
}

/** Polls every node's anti-entropy state every pollMs until the replicas agree or settleMs passes. */
export async function waitForAgreement(
  nodes: readonly NodeAddress[],
  replicas: number,
  settleMs: number,
  pollMs: number,
  access: NodeAccess,
): Promise<WaitResult> {
  const clients = nodes.map((n) => ({
    id: n.id,
    client: new ClusterClient(n.address, access.credentials),
  }));
  // Monotonic, like the run's clock (nowMs): agreedAfterMs is added to times measured by that.
  const startedMs = performance.now();
  let agreement: Agreement = { agreed: false, divergent: 0, partitions: 0, silent: [] };
  let polls = 0;
  try {
    for (; polls < agreementPollsMax;) {
      const states = await Promise.all(
        clients.map(async (c) => [c.id, await antiEntropyOf(c.client, access)] as const),
      );
      polls++;
      agreement = agreementOf(new Map(states), replicas);
      const elapsedMs = Math.round(performance.now() - startedMs);
      if (agreement.agreed) return { agreement, agreedAfterMs: elapsedMs, polls };
      if (elapsedMs + pollMs > settleMs) break;
      await sleep(pollMs);
    }
  } finally {
    for (const c of clients) c.client.close();
  }
  return { agreement, agreedAfterMs: null, polls };
}

/** Tombstones the nodes' reapers removed, all partitions of every node that answered together. */
export async function tombstonesReaped(
  nodes: readonly NodeAddress[],
  access: NodeAccess,
): Promise<number> {
  let reaped = 0;
  for (const n of nodes) {
    const client = new ClusterClient(n.address, access.credentials);
    try {
      for (const p of (await antiEntropyOf(client, access)) ?? [])
        reaped += Number(p.tombstonesReaped);
    } finally {
      client.close();
    }
  }
  return reaped;
}

/** What one node answered for the keys: live values per key, and the keys it could not read. */
export interface NodeReads {
  readonly node: string;
  readonly values: ReadonlyMap<string, readonly Buffer[]>;
  readonly unreadable: ReadonlySet<string>;
}

/** Reads every key through every node with R=r, retrying each a few times. */
export async function readEverywhere(
  nodes: readonly NodeAddress[],
  keys: readonly string[],
  r: number,
  access: NodeAccess,
): Promise<NodeReads[]> {
  return Promise.all(nodes.map((n) => readThrough(n, keys, r, access)));
}

async function readThrough(
  node: NodeAddress,
  keys: readonly string[],
  r: number,
  access: NodeAccess,
): Promise<NodeReads> {
  const client = new KVClient(node.address, access.credentials);
  const values = new Map<string, Buffer[]>();
  const unreadable = new Set<string>();
  let next = 0;
  const reader = async (): Promise<void> => {
    for (let i = next++; i < keys.length; i = next++) {
      const key = keys[i] as string;
      const res = await getWithRetries(client, key, r, access);
      if (res === undefined) unreadable.add(key);
      else
        values.set(
          key,
          res.siblings.filter((s) => !s.deleted).map((s) => s.value),
        );
    }
  };
  try {
    await Promise.all(Array.from({ length: readsInFlightPerNode }, reader));
  } finally {
    client.close();
  }
  return { node: node.id, values, unreadable };
}

async function getWithRetries(
  client: KVClient,
  key: string,
  r: number,
  access: NodeAccess,
): Promise<GetResponse | undefined> {
  for (let attempt = 1; attempt <= readAttemptsMax; attempt++) {
    const res = await new Promise<GetResponse | undefined>((resolve) => {
      client.get(
        { key: Buffer.from(key), r, strictQuorum: true },
        access.metadata(),
        { deadline: new Date(Date.now() + rpcDeadlineMs) },
        (e, response) => resolve(e === null ? response : undefined),
      );
    });
    if (res !== undefined) return res;
    await sleep(readRetryStepMs * attempt);
  }
  return undefined;
}
