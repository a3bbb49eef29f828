// The final ring check (issue 12): once the load stops and the last transition ended, every live
// node holds one ring version with no transfers, every partition has N distinct owners, every owner
// is a valid member, and the live nodes are exactly the valid members.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Ring } from '@ringstore/proto';
import type { ClusterRpc } from './cluster-rpc.js';
import type { NodeAddress } from './settle.js';

export interface RingCheck {
  /** The version every live node holds; null when they differ or one did not answer. */
  readonly version: number | null;
  /** Valid members, in the ring's order. */
  readonly members: readonly string[];
  /** Empty when everything holds. */
  readonly problems: readonly string[];
  /** From the call to the first poll without problems (or to the last poll). */
  readonly waitedMs: number;
}

/** Problems kept in a check: the first ones say what is wrong, the count says how much. */
export const ringProblemsMax = 20;

/**
 * Pure: the problems of the rings the live nodes answered (undefined: no answer). With more
 * valid owners than N, every N consecutive partitions must have N distinct owners (claim's
 * spacing, so each partition's N primaries are distinct without skipping); with exactly N, the
 * ring must still have N distinct owners.
 */
export function checkRings(
  rings: ReadonlyMap<string, Ring | undefined>,
  replicas: number,
): { version: number | null; members: string[]; problems: string[] } {
  const problems: string[] = [];
  const answered = [...rings].flatMap(([id, r]) => (r === undefined ? [] : [[id, r] as const]));
  for (const [id, r] of rings) if (r === undefined) problems.push(`${id} did not answer GetRing`);
  const versions = new Set(answered.map(([, r]) => r.version));
  if (versions.size > 1)
    problems.push(
      `ring versions differ: ${answered.map(([id, r]) => `${id} v${r.version}`).join(', ')}`,
    );
  const ring = answered[0]?.[1];
  if (ring === undefined) return { version: null, members: [], problems };
  for (const [id, r] of answered) {
    if (r.transfers.length > 0) problems.push(`${id} still has ${r.transfers.length} transfers`);
    if (r.nextOwners.length > 0) problems.push(`${id} still has a next ring`);
  }
  const members = ring.nodes.filter((n) => n.status === 'valid').map((n) => n.id);
  for (const id of rings.keys())
    if (!members.includes(id))
      problems.push(
        `live node ${id} is not a valid member (${ring.nodes.find((n) => n.id === id)?.status ?? 'not in the ring'})`,
      );
  for (const id of members) if (!rings.has(id)) problems.push(`valid member ${id} is not running`);
  problems.push(...ownerProblems(ring, replicas));
  return {
    version: problems.length === 0 ? Number(ring.version) : null,
    members,
    problems: capped(problems),
  };
}

/** Owners that are not valid members, and partitions without N distinct owners. */
function ownerProblems(ring: Ring, replicas: number): string[] {
  const problems: string[] = [];
  const q = ring.owners.length;
  const ownerId = (p: number): string => ring.nodes[ring.owners[p % q] ?? -1]?.id ?? '?';
  const owning = new Set(ring.owners.map((_, p) => ownerId(p)));
  for (const id of owning) {
    const status = ring.nodes.find((n) => n.id === id)?.status ?? 'not a node';
    if (status !== 'valid') problems.push(`owner ${id} is ${status}`);
  }
  if (owning.size < replicas) {
    problems.push(`only ${owning.size} distinct owners for N=${replicas}`);
    return problems;
  }
  if (owning.size === replicas) return problems;
  for (let p = 0; p < q; p++) {
    const window = Array.from({ length: replicas }, (_, i) => ownerId(p + i));
    if (new Set(window).size < replicas)
      problems.push(`partitions ${p}..${(p + replicas - 1) % q} have owners ${window.join(' ')}`);
  }
  return problems;
}

function capped(problems: string[]): string[] {
  return problems.length <= ringProblemsMax
    ? problems
    : [
        ...problems.slice(0, ringProblemsMax),
        `and ${problems.length - ringProblemsMax} more problems`,
      ];
}

/** Most polls of one wait: far past what --settle-ms allows. */
const ringPollsMax = 1_000_000;

/** Polls every live node's ring until the check finds nothing or boundMs passes; the last check. */
export async function waitForRing(
  nodes: readonly NodeAddress[],
  replicas: number,
  boundMs: number,
  pollMs: number,
  rpc: ClusterRpc,
): Promise<RingCheck> {
  const startedMs = performance.now();
  let check = checkRings(new Map(), replicas);
  for (let i = 0; i < ringPollsMax; i++) {
    const rings = await Promise.all(
      nodes.map(async (n) => [n.id, await rpc.ring(n.address).catch(() => undefined)] as const),
    );
    check = checkRings(new Map(rings), replicas);
    const waitedMs = Math.round(performance.now() - startedMs);
    if (check.problems.length === 0 || waitedMs + pollMs > boundMs) return { ...check, waitedMs };
    await sleep(pollMs);
  }
  return { ...check, waitedMs: Math.round(performance.now() - startedMs) };
}
