import type { PartitionAntiEntropy } from '@ringstore/proto';
import { describe, expect, it } from 'vitest';
import { agreementOf } from './settle.js';

function p(partition: number, root: string): PartitionAntiEntropy {
  return {
    partition,
    root,
    lastExchangeMs: 0n,
    lastPeer: '',
    exchanges: 0n,
    differences: 0n,
    repairs: 0n,
    tombstonesReaped: 0n,
    keys: 0n,
  };
}

describe('agreementOf', () => {
  it('agrees when every partition has N replicas with one root', () => {
    const states = new Map([
      ['n1', [p(0, 'a'), p(1, 'b')]],
      ['n2', [p(0, 'a'), p(1, 'b')]],
      ['n3', [p(0, 'a')]],
      ['n4', [p(1, 'b')]],
    ]);
    expect(agreementOf(states, 3)).toEqual({
      agreed: true,
      divergent: 0,
      partitions: 2,
      silent: [],
    });
  });

  it('counts a partition with differing roots, or fewer than N replicas answering, as divergent; a silent node blocks agreement', () => {
    const states = new Map<string, PartitionAntiEntropy[] | undefined>([
      ['n1', [p(0, 'a'), p(1, 'b')]],
      ['n2', [p(0, 'x'), p(1, 'b')]],
      ['n3', [p(0, 'a')]],
      ['n4', undefined],
    ]);
    expect(agreementOf(states, 3)).toEqual({
      agreed: false,
      divergent: 2,
      partitions: 2,
      silent: ['n4'],
    });
  });
});
