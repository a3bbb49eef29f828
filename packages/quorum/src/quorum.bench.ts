import type { PreferenceEntry } from '@ringstore/ring';
import { bench, describe } from 'vitest';
import { startGet, startPut, stepGet, stepPut } from './index.js';
import { siblingOps, siblings } from './test-support/siblings.js';

// One whole request each: what the pure state machine costs per put or get, N=3 (the default).
const preferenceList: PreferenceEntry[] = ['a', 'b', 'c'].map((nodeId) => ({
  nodeId,
  hintFor: undefined,
}));
const fresh = siblings('v1', 'v2');
const stale = siblings('v1');

describe('quorum state machines (N=3)', () => {
  bench('put W=2: start, local write, 2 acks, done', () => {
    const start = startPut({ preferenceList, w: 2, localNodeId: 'a', requestTimeoutMs: 1000 });
    const s0 = stepPut(start.state, { type: 'local-written' });
    const s1 = stepPut(s0.state, { type: 'ack', nodeId: 'b' });
    const s2 = stepPut(s1.state, { type: 'ack', nodeId: 'c' });
    if (s2.effects.at(-1)?.type !== 'done') throw new Error('put did not finish');
  });

  bench('get R=2: start, 3 replies, read repair, done', () => {
    const start = startGet({
      preferenceList,
      r: 2,
      requestTimeoutMs: 1000,
      repairWaitMs: 200,
      ops: siblingOps,
    });
    const s1 = stepGet(start.state, { type: 'reply', nodeId: 'a', object: fresh });
    const s2 = stepGet(s1.state, { type: 'reply', nodeId: 'b', object: stale });
    const s3 = stepGet(s2.state, { type: 'reply', nodeId: 'c', object: undefined });
    if (s3.effects.at(-1)?.type !== 'done') throw new Error('get did not finish');
  });
});
