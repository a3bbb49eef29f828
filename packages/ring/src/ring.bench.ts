import { bench, describe } from 'vitest';
import type { Member } from './index.js';
import { claim, partitionOf, preferenceList, primaryReplicas } from './index.js';

const members: Member[] = Array.from({ length: 8 }, (_, i) => ({ id: `node-${i}`, zone: '' }));
const ring = claim(members, { partitionCount: 256, replicas: 3 });
const down = 'node-3';
const isUp = (nodeId: string): boolean => nodeId !== down;
const key = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
let partition = 0;
let sink = 0;

describe('ring lookups', () => {
  bench('preferenceList (Q=256, S=8, N=3, one node down)', () => {
    partition = (partition + 1) & 255;
    sink += preferenceList(ring, partition, 3, isUp).length;
  });

  bench('primaryReplicas (Q=256, S=8, N=3)', () => {
    partition = (partition + 1) & 255;
    sink += primaryReplicas(ring, partition, 3).length;
  });

  bench('partitionOf (32-byte key, MD5)', () => {
    key[0] = (key[0]! + 1) & 0xff;
    sink += partitionOf(key, 256);
  });
});

describe('claim', () => {
  const grown = [...members, { id: 'node-8', zone: '' }];
  bench('claim fresh (Q=256, S=8, N=3)', () => {
    sink += claim(members, { partitionCount: 256, replicas: 3 }).owners.length;
  });

  bench('claim a joining node from the previous ring (Q=256, S=8 -> 9, N=3)', () => {
    sink += claim(grown, { partitionCount: 256, replicas: 3, previous: ring }).owners.length;
  });
});

// Keeps the results observable so the work is not optimised away.
export const benchSink = (): number => sink;
