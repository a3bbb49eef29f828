// Rings, plans and transfer reports for the cluster command tests: a 3-node cluster n1..n3 that
// a fourth node, n4, joins.
import type { Node, Plan, Ring, Transfer, TransferProgress } from '@ringstore/proto';
import { idleRingFields, peerAddressOf } from './fake-node.js';

/** A ring node; its peer port, as a node's default, the client port + 1. */
export function node(id: string, address: string, status = 'valid', zone = ''): Node {
  return { id, address, peerAddress: peerAddressOf(address), zone, status };
}

/** n1..n3 at `addresses`, 8 partitions, first owners n1 n2 n3 n1 n2 n3 n1 n2. */
export function threeNodeRing(addresses: readonly string[], version = 5n): Ring {
  return {
    ...idleRingFields(),
    version,
    partitionCount: 8,
    replicas: 3,
    nodes: addresses.map((address, index) => node(`n${index + 1}`, address)),
    owners: [0, 1, 2, 0, 1, 2, 0, 1],
  };
}

export function transfer(partition: number, state: string, since = 6n): Transfer {
  return { partition, added: ['n4'], removed: [`n${(partition % 3) + 1}`], state, since };
}

/** The ring once n4 has joined: two partitions each, n4 joining. */
export function ringWithN4(current: Ring, states: readonly string[] = []): Ring {
  return {
    ...current,
    version: current.version + 1n,
    nodes: [...current.nodes, node('n4', '127.0.0.1:7004', 'joining')],
    owners: [0, 1, 2, 3, 0, 1, 3, 2],
    nextOwners: states.length === 0 ? [] : [0, 1, 2, 3, 0, 1, 3, 2],
    transfers: states.map((state, index) => transfer(index, state, current.version + 1n)),
  };
}

const mib = 1024n * 1024n;

export function joinPlan(current: Ring): Plan {
  const transfers = [0, 1, 2, 3, 4, 5].map((partition) => transfer(partition, 'pending'));
  return {
    current,
    next: { ...ringWithN4(current), nextOwners: [], transfers: [] },
    changes: [],
    transfers,
    movement: [
      {
        node: 'n1',
        partitionsIn: 0,
        partitionsOut: 2,
        objectsIn: 0n,
        bytesIn: 0n,
        objectsOut: 2400n,
        bytesOut: 7n * mib,
      },
      {
        node: 'n2',
        partitionsIn: 0,
        partitionsOut: 2,
        objectsIn: 0n,
        bytesIn: 0n,
        objectsOut: 2400n,
        bytesOut: 7n * mib,
      },
      {
        node: 'n3',
        partitionsIn: 0,
        partitionsOut: 2,
        objectsIn: 0n,
        bytesIn: 0n,
        objectsOut: 2400n,
        bytesOut: 7n * mib,
      },
      {
        node: 'n4',
        partitionsIn: 6,
        partitionsOut: 0,
        objectsIn: 7200n,
        bytesIn: 21n * mib,
        objectsOut: 0n,
        bytesOut: 0n,
      },
    ],
    replicaPartitionsMoving: 6,
    warnings: ['zones not distinct: 4 nodes in 1 zone', 'fewer than 5 nodes'],
    objectsPerPartition: 1200n,
    bytesPerPartition: (7n * mib) / 2n,
  };
}

/** What a receiver reports for partition `partition` from `from`, to n4. */
export function progress(
  partition: number,
  fields: Partial<TransferProgress> = {},
): TransferProgress {
  return {
    partition,
    from: `n${(partition % 3) + 1}`,
    to: 'n4',
    state: 'streaming',
    objectsDone: 0n,
    objectsTotal: 0n,
    bytesDone: 0n,
    bytesTotal: 0n,
    objectsPerSecond: 0,
    bytesPerSecond: 0,
    lastProgressMs: 0n,
    stalled: '',
    pages: 0n,
    ...fields,
  };
}
