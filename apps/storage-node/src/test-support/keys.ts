import { partitionOf, primaryReplicas, type Ring } from '@ringstore/ring';
import type { Ring as RingMessage } from '@ringstore/proto';

export function ringOf(message: RingMessage): Ring {
  return {
    partitionCount: message.partitionCount,
    members: message.nodes.map((n) => ({ id: n.id, zone: n.zone })),
    owners: message.owners,
  };
}

export function replicasOf(ring: Ring, key: string, n = 3): string[] {
  return primaryReplicas(ring, partitionOf(Buffer.from(key), ring.partitionCount), n);
}

/** `count` keys (prefix-0, prefix-1, ...) whose N replicas include, or exclude, `nodeId`. */
export function keysFor(
  ring: Ring,
  nodeId: string,
  count: number,
  prefix: string,
  include = true,
  n = 3,
): string[] {
  const keys: string[] = [];
  for (let i = 0; i < 100_000 && keys.length < count; i++) {
    const key = `${prefix}-${i}`;
    if (replicasOf(ring, key, n).includes(nodeId) === include) keys.push(key);
  }
  if (keys.length < count) throw new Error(`only ${keys.length} keys found for ${nodeId}`);
  return keys;
}
