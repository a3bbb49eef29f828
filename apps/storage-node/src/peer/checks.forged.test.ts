import { describe, expect, it } from 'vitest';
import { ClusterView } from '../cluster-view.js';
import { RingstoreError } from '../errors.js';
import { founded } from '../test-support/documents.js';
import {
  checkPeerRequest,
  decodeReceived,
  madeUnderNewerRing,
  peerKeyBytesMax,
  withPeerChecks,
} from './checks.js';
import type { LinkHandlers, RequestBody, RequestContext } from './link.js';

const view = new ClusterView('n1', founded(5)); // Q=16
const key = Buffer.from('k');
const own = view.partitionOf(key);
const other = (own + 1) % 16;
const fence = { ringTerm: 1n, ringVersion: 1n };
const ctx: RequestContext = { from: 'n2', deadlineMs: Number.MAX_SAFE_INTEGER };

function problemOf(body: RequestBody): string | undefined {
  try {
    checkPeerRequest(body, view);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(RingstoreError);
    const err = e as RingstoreError;
    expect(err.code).toBe('invalid-argument');
    return err.message;
  }
}

const replicate = (partition: number, k: Buffer = key): RequestBody => ({
  $case: 'replicate',
  value: { partition, key: k, object: Buffer.alloc(0), hintFor: '', ...fence },
});

describe('checkPeerRequest', () => {
  it('passes a key named under its own partition', () => {
    expect(problemOf(replicate(own))).toBeUndefined();
    expect(problemOf({ $case: 'read', value: { partition: own, key, ...fence } })).toBeUndefined();
  });

  it('refuses a replicate, read or reap naming a key under another partition', () => {
    const message = `the key belongs to partition ${own}, not to partition ${other}`;
    expect(problemOf(replicate(other))).toBe(message);
    expect(problemOf({ $case: 'read', value: { partition: other, key, ...fence } })).toBe(message);
    const reap = { partition: other, key, object: Buffer.alloc(0), ...fence };
    expect(problemOf({ $case: 'reap', value: reap })).toBe(message);
  });

  it('refuses partitions out of range and keys beyond the limits', () => {
    expect(problemOf(replicate(16))).toBe('partition 16 out of range 0..15');
    expect(problemOf(replicate(0xffff_ffff))).toMatch(/out of range/);
    expect(problemOf(replicate(own, Buffer.alloc(0)))).toMatch(/^key of 0 bytes/);
    expect(problemOf(replicate(own, Buffer.alloc(peerKeyBytesMax + 1)))).toMatch(/^key of/);
    expect(problemOf({ $case: 'hintsHeld', value: { partition: 16 } })).toMatch(/out of range/);
    const report = { transition: 1n, partition: 99, finished: 'streaming' };
    expect(problemOf({ $case: 'transferReport', value: report })).toMatch(/out of range/);
    const page = {
      partition: 0,
      afterKey: Buffer.alloc(peerKeyBytesMax + 1),
      objectsMax: 1,
      bytesMax: 1,
      transition: 1n,
    };
    expect(problemOf({ $case: 'transferPage', value: page })).toMatch(/^afterKey/);
    expect(problemOf({ $case: 'transferPage', value: { ...page, partition: 16 } })).toMatch(
      /out of range/,
    );
  });

  it('refuses a handoff whose any object is misplaced', () => {
    const object = { partition: own, key, object: Buffer.alloc(0), hintFor: '', ...fence };
    expect(problemOf({ $case: 'handoff', value: { objects: [object] } })).toBeUndefined();
    const misplaced = { ...object, partition: other };
    expect(problemOf({ $case: 'handoff', value: { objects: [object, misplaced] } })).toMatch(
      /belongs to partition/,
    );
  });
});

describe('withPeerChecks', () => {
  it('runs the checks before each handler: a refused request never reaches it', async () => {
    const reached: string[] = [];
    const answer = (kind: string) => () => {
      reached.push(kind);
      return Promise.resolve({} as never);
    };
    const handlers = Object.fromEntries(
      [
        'replicate',
        'read',
        'forwardGet',
        'forwardPut',
        'forwardDelete',
        'handoff',
        'reap',
        'hintsHeld',
        'transferPage',
        'transferReport',
      ].map((kind) => [kind, answer(kind)]),
    ) as unknown as LinkHandlers;
    const checked = withPeerChecks(handlers, view);
    const misplaced = { partition: other, key, object: Buffer.alloc(0), hintFor: '', ...fence };
    await expect(checked.replicate(misplaced, ctx)).rejects.toMatchObject({
      code: 'invalid-argument',
    });
    await checked.replicate({ ...misplaced, partition: own }, ctx);
    await checked.hintsHeld({ partition: 3 }, ctx);
    await expect(checked.hintsHeld({ partition: 16 }, ctx)).rejects.toBeInstanceOf(RingstoreError);
    expect(reached).toEqual(['replicate', 'hintsHeld']);
  });
});

describe('madeUnderNewerRing and decodeReceived', () => {
  it('compares (term, version); an unfenced request (0.0) is never newer', () => {
    const doc = { term: 2, version: 7 };
    expect(madeUnderNewerRing({ ringTerm: 2n, ringVersion: 8n }, doc)).toBe(true);
    expect(madeUnderNewerRing({ ringTerm: 3n, ringVersion: 1n }, doc)).toBe(true);
    expect(madeUnderNewerRing({ ringTerm: 2n, ringVersion: 7n }, doc)).toBe(false);
    expect(madeUnderNewerRing({ ringTerm: 0n, ringVersion: 0n }, doc)).toBe(false);
  });

  it('turns a decode failure into INVALID_ARGUMENT naming it', () => {
    const overflowing = Buffer.from('01010161ffffffffffffff0f0000', 'hex');
    expect(() => decodeReceived(overflowing, 'the object')).toThrow(
      /^the object does not decode: malformed: counter out of range/,
    );
  });
});
