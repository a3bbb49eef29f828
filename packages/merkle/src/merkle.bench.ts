import { bench, describe } from 'vitest';
import { MerkleTree, startDescent, stepDescent } from './index.js';
import { sha256 } from './sha256.js';

const encoder = new TextEncoder();
const keysCount = 10_000;
const keys = Array.from({ length: keysCount }, (_, i) => encoder.encode(`user:${i}`));
const digests = [sha256(encoder.encode('v1')), sha256(encoder.encode('v2'))] as const;

function filledTree(): MerkleTree {
  return MerkleTree.fromEntries(keys.map((key) => [key, digests[0]] as const));
}

// The node's MerkleLevel chunk (one request per level at this shape).
const indexesPerRequestMax = 4_096;

/** The descent of `a`, answered from `b` in the same process: the exchange minus the network. */
function descend(a: MerkleTree, b: MerkleTree): readonly number[] {
  let { state, effects } = startDescent(a, { indexesPerRequestMax });
  for (let request = 0; request <= a.levelCount(); request++) {
    const [effect] = effects;
    if (effect?.type !== 'ask-level') return effect?.type === 'done' ? effect.segments : [];
    const hashes = b.level(effect.level, effect.indexes);
    ({ state, effects } = stepDescent(state, { ...effect, type: 'level-hashes', hashes }));
  }
  throw new Error('the descent did not end');
}

// Ten keys that land in ten distinct segments, changed on one side only.
function treesDifferingInTenSegments(): { a: MerkleTree; b: MerkleTree } {
  const a = filledTree();
  const b = filledTree();
  const segments = new Set<number>();
  for (const key of keys) {
    if (segments.size === 10) break;
    const segment = b.segmentOf(key);
    if (segments.has(segment)) continue;
    segments.add(segment);
    b.update(key, digests[0], digests[1]);
  }
  const differing = descend(a, b);
  if (differing.length !== 10)
    throw new Error(`expected 10 differing segments, got ${differing.length}`);
  return { a, b };
}

describe('merkle (1,024 segments, fanout 32, 10,000 keys)', () => {
  const tree = filledTree();
  let i = 0;
  bench('update one key', () => {
    const key = keys[i % keysCount]!;
    const flip = Math.floor(i / keysCount) % 2;
    tree.update(key, digests[flip as 0 | 1], digests[(1 - flip) as 0 | 1]);
    i++;
  });

  const rooted = filledTree();
  let j = 0;
  bench('update one key, then root()', () => {
    const key = keys[j % keysCount]!;
    const flip = Math.floor(j / keysCount) % 2;
    rooted.update(key, digests[flip as 0 | 1], digests[(1 - flip) as 0 | 1]);
    rooted.root();
    j++;
  });

  const { a, b } = treesDifferingInTenSegments();
  bench('descent of two trees differing in 10 segments', () => {
    descend(a, b);
  });
});
