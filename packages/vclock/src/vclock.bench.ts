import { bench, describe } from 'vitest';
import type { DVVSet, StoredValue, VersionVector } from './index.js';
import { decodeObject, encodeObject, fresh, join, sync, update, values } from './index.js';

// Figures for docs/performance.md: run with
//   npx vitest bench --run --config vitest.bench.config.ts packages/vclock/src/vclock.bench.ts

const actors = ['node-a', 'node-b', 'node-c'] as const;
const value = (n: number, bytes = 100): StoredValue => ({
  bytes: new Uint8Array(bytes).fill(n & 0xff),
  tombstone: false,
  timestampMs: 1_700_000_000_000 + n,
});

/** Two clients alternating writes through the three actors: 3 entries, 2 siblings. */
function twoSiblings(): { object: DVVSet<StoredValue>; context: VersionVector } {
  let object: DVVSet<StoredValue> | undefined;
  const contexts: VersionVector[] = [[], []];
  for (let write = 0; write < 6; write++) {
    object = update(fresh(value(write), contexts[write % 2]), object, actors[write % 3]!);
    contexts[write % 2] = join(object);
  }
  if (object === undefined || values(object).length !== 2 || object.entries.length !== 3)
    throw new Error('bad setup');
  return { object, context: contexts[0]! };
}

const { object: server, context } = twoSiblings();
const incoming = value(99);

// Two replicas that took different writes after a common history: concurrent, 3 actors each.
const left = update(fresh(value(100), join(server)), server, 'node-a');
const right = update(fresh(value(101), join(server)), server, 'node-b');

const single = update(fresh(value(7), join(server)), server, 'node-c');
const singleBytes = encodeObject(single);

describe('DVVSet', () => {
  bench('update (3 actors, 2 siblings)', () => {
    update(fresh(incoming, context), server, 'node-b');
  });

  bench('sync (two concurrent 3-actor objects)', () => {
    sync(left, right);
  });
});

describe(`object codec (3 actors, one 100-byte value, ${singleBytes.length} bytes)`, () => {
  bench('encodeObject', () => {
    encodeObject(single);
  });

  bench('decodeObject', () => {
    decodeObject(singleBytes);
  });
});
