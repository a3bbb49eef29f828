import { describe, expect, it } from 'vitest';
import type { Ring } from '@ringstore/proto';
import { settledVersion } from './join-cluster.js';

function ring(version: bigint, transfers = 0, nextOwners: number[] = []): Ring {
  return {
    version,
    partitionCount: 4,
    replicas: 3,
    nodes: [],
    owners: [0, 1, 2, 3],
    term: 1n,
    clusterId: 'c',
    claimant: 'n1',
    nextOwners,
    transfers: Array.from({ length: transfers }, (_, p) => ({
      partition: p,
      added: ['n4'],
      removed: ['n1'],
      state: 'streaming',
      since: version,
    })),
  };
}

describe('settledVersion', () => {
  it('is the version once every node holds the same ring with no transition running', () => {
    expect(settledVersion([ring(9n), ring(9n), ring(9n), ring(9n)])).toBe(9n);
  });

  it('is undefined while a node is behind, silent, or a transition still runs', () => {
    expect(settledVersion([ring(9n), ring(8n)])).toBeUndefined();
    expect(settledVersion([ring(9n), undefined])).toBeUndefined();
    expect(settledVersion([undefined, ring(9n)])).toBeUndefined();
    expect(settledVersion([ring(9n, 1), ring(9n, 1)])).toBeUndefined();
    expect(settledVersion([ring(9n, 0, [0, 1, 2, 3]), ring(9n, 0, [0, 1, 2, 3])])).toBeUndefined();
    expect(settledVersion([])).toBeUndefined();
  });
});
