import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DescentEffect, DescentState, DescentStep, MerkleTree } from './index.js';
import { checkLevelRequest, startDescent, stepDescent } from './index.js';
import { hashBytes, treeOptionsDefault } from './merkle-tree.js';
import {
  differingLeaves,
  keyBytes,
  replicasArbitrary,
  segmentsOfKeys,
  treeFrom,
} from './test-support/trees.js';

const seed = 20240614;
// The storage node's MerkleLevel chunk: one request per level at the default shape.
const nodeIndexesPerRequestMax = 4_096;

interface Ask {
  readonly level: number;
  readonly indexes: readonly number[];
}

/** Every node of every level: a descent names each at most once, so it makes at most this many requests. */
function nodeCount(tree: MerkleTree): number {
  let count = 0;
  for (let level = 0; level < tree.levelCount(); level++) count += tree.levelWidth(level);
  return count;
}

function onlyEffect(effects: readonly DescentEffect[]): DescentEffect {
  expect(effects).toHaveLength(1);
  return effects[0]!;
}

/** Plays the peer with `remote`: answers every ask-level from it until the descent ends. */
function runDescent(
  local: MerkleTree,
  remote: MerkleTree,
  indexesPerRequestMax: number,
): { asks: Ask[]; last: DescentEffect } {
  let { state, effects } = startDescent(local, { indexesPerRequestMax });
  const asks: Ask[] = [];
  for (let request = 0; request <= nodeCount(local); request++) {
    const effect = onlyEffect(effects);
    if (effect.type !== 'ask-level') return { asks, last: effect };
    const { level, indexes } = effect;
    asks.push({ level, indexes });
    const hashes = remote.level(level, indexes);
    ({ state, effects } = stepDescent(state, { type: 'level-hashes', level, indexes, hashes }));
  }
  throw new Error(`the descent made more than ${nodeCount(local)} requests`);
}

function answer(state: DescentState, remote: MerkleTree, ask: DescentEffect): DescentStep {
  expect(ask.type).toBe('ask-level');
  if (ask.type !== 'ask-level') throw new Error('not an ask');
  const hashes = remote.level(ask.level, ask.indexes);
  return stepDescent(state, {
    type: 'level-hashes',
    level: ask.level,
    indexes: ask.indexes,
    hashes,
  });
}

const range = (first: number, count: number): number[] =>
  Array.from({ length: count }, (_, k) => first + k);

/** Two keys whose segments sit under different level-1 nodes of the default shape. */
function keysUnderTwoParents(tree: MerkleTree): [string, string] {
  const parentOf = (key: string): number => Math.floor(tree.segmentOf(keyBytes(key)) / 32);
  for (let i = 1; i < 100; i++) if (parentOf(`k${i}`) !== parentOf('k0')) return ['k0', `k${i}`];
  throw new Error('no two keys under different parents');
}

describe('descent: scenarios', () => {
  const entries = new Map(Array.from({ length: 500 }, (_, i) => [`k${i}`, `v${i}`] as const));

  it('asks for the root only, and is done with no segments, when the trees are equal', () => {
    const local = treeFrom(entries, treeOptionsDefault);
    const remote = treeFrom(entries, treeOptionsDefault);
    const start = startDescent(local, { indexesPerRequestMax: nodeIndexesPerRequestMax });
    expect(start.effects).toEqual([{ type: 'ask-level', level: 0, indexes: [0] }]);
    const step = answer(start.state, remote, onlyEffect(start.effects));
    expect(step.effects).toEqual([{ type: 'done', segments: [] }]);
    const empty = treeFrom(new Map(), treeOptionsDefault);
    expect(runDescent(empty, empty, 1)).toEqual({
      asks: [{ level: 0, indexes: [0] }],
      last: { type: 'done', segments: [] },
    });
  });

  it('finds exactly the segment of one differing key, asking only under its branch', () => {
    const local = treeFrom(entries, treeOptionsDefault);
    const remote = treeFrom(new Map([...entries, ['k7', 'changed']]), treeOptionsDefault);
    const segment = local.segmentOf(keyBytes('k7'));
    const parent = Math.floor(segment / 32);
    expect(runDescent(local, remote, nodeIndexesPerRequestMax)).toEqual({
      asks: [
        { level: 0, indexes: [0] },
        { level: 1, indexes: range(0, 32) },
        { level: 2, indexes: range(parent * 32, 32) },
      ],
      last: { type: 'done', segments: [segment] },
    });
  });

  it('fails with the wire error when the peer sends the wrong number of hashes', () => {
    const local = treeFrom(entries, treeOptionsDefault);
    const { state } = startDescent(local, { indexesPerRequestMax: nodeIndexesPerRequestMax });
    const step = stepDescent(state, { type: 'level-hashes', level: 0, indexes: [0], hashes: [] });
    expect(step.effects).toEqual([
      {
        type: 'failed',
        level: 0,
        error: { code: 'hash-count-mismatch', message: '0 hashes for 1 indexes' },
      },
    ]);
    expect(() =>
      stepDescent(step.state, { type: 'level-hashes', level: 0, indexes: [0], hashes: [] }),
    ).toThrow(/after the descent is failed/);
  });

  it('fails with the wire error when a hash has the wrong size', () => {
    const local = treeFrom(entries, treeOptionsDefault);
    const remote = treeFrom(new Map([...entries, ['k7', 'changed']]), treeOptionsDefault);
    const start = startDescent(local, { indexesPerRequestMax: nodeIndexesPerRequestMax });
    const level1 = answer(start.state, remote, onlyEffect(start.effects));
    const hashes = remote.level(1, range(0, 32));
    hashes[5] = new Uint8Array(hashBytes - 1);
    const step = stepDescent(level1.state, {
      type: 'level-hashes',
      level: 1,
      indexes: range(0, 32),
      hashes,
    });
    expect(step.effects).toEqual([
      {
        type: 'failed',
        level: 1,
        error: { code: 'hash-size-wrong', message: 'hash 5 has 31 bytes, not 32' },
      },
    ]);
  });

  it('asks for at most indexesPerRequestMax nodes at a time, one request after the other', () => {
    const local = treeFrom(new Map(), treeOptionsDefault);
    const [first, second] = keysUnderTwoParents(local);
    const remote = treeFrom(
      new Map([
        [first, 'x'],
        [second, 'y'],
      ]),
      treeOptionsDefault,
    );
    const segments = [first, second].map((key) => local.segmentOf(keyBytes(key)));
    const parents = segments.map((s) => Math.floor(s / 32)).sort((x, y) => x - y);
    const { asks, last } = runDescent(local, remote, 10);
    const level2 = parents.flatMap((p) => range(p * 32, 32));
    expect(asks).toEqual([
      { level: 0, indexes: [0] },
      ...[0, 10, 20, 30].map((from) => ({
        level: 1,
        indexes: range(from, Math.min(10, 32 - from)),
      })),
      ...[0, 10, 20, 30, 40, 50, 60].map((from) => ({
        level: 2,
        indexes: level2.slice(from, from + 10),
      })),
    ]);
    expect(last).toEqual({ type: 'done', segments: [...segments].sort((x, y) => x - y) });
  });

  it('never changes a state: stepping an earlier state again gives the same step', () => {
    const local = treeFrom(entries, treeOptionsDefault);
    const remote = treeFrom(new Map([...entries, ['k7', 'changed']]), treeOptionsDefault);
    const start = startDescent(local, { indexesPerRequestMax: 8 });
    const first = answer(start.state, remote, onlyEffect(start.effects));
    const second = answer(first.state, remote, onlyEffect(first.effects));
    expect(answer(first.state, remote, onlyEffect(first.effects)).effects).toEqual(second.effects);
    expect(answer(start.state, remote, onlyEffect(start.effects)).effects).toEqual(first.effects);
  });

  it('asserts on programmer errors: bad options, an answer to another request', () => {
    const tree = treeFrom(entries, treeOptionsDefault);
    for (const indexesPerRequestMax of [0, -1, 1.5, Number.NaN])
      expect(() => startDescent(tree, { indexesPerRequestMax })).toThrow(/indexesPerRequestMax/);
    const { state } = startDescent(tree, { indexesPerRequestMax: 4 });
    const root = tree.level(0, [0]);
    expect(() =>
      stepDescent(state, { type: 'level-hashes', level: 1, indexes: [0], hashes: root }),
    ).toThrow(/level 0 \(1 nodes\) was asked/);
    expect(() =>
      stepDescent(state, { type: 'level-hashes', level: 0, indexes: [1], hashes: root }),
    ).toThrow(/was asked/);
  });
});

describe('descent: properties', () => {
  const indexesPerRequestMaxArbitrary = fc.oneof(
    fc.integer({ min: 1, max: 40 }),
    fc.constant(nodeIndexesPerRequestMax),
  );

  it('fed by a second tree, finds exactly the segments whose hashes differ', () => {
    fc.assert(
      fc.property(
        replicasArbitrary,
        indexesPerRequestMaxArbitrary,
        ({ options, a, b, touchedKeys }, indexesPerRequestMax) => {
          const local = treeFrom(a, options);
          const remote = treeFrom(b, options);
          const expected = differingLeaves(local, remote);
          expect(expected).toEqual(segmentsOfKeys(options, touchedKeys));
          const { last } = runDescent(local, remote, indexesPerRequestMax);
          expect(last).toEqual({ type: 'done', segments: expected });
          expect(runDescent(remote, local, indexesPerRequestMax).last).toEqual(last);
        },
      ),
      { seed, numRuns: 150 },
    );
  });

  it('asks valid, bounded requests, and only under differing branches', () => {
    fc.assert(
      fc.property(
        replicasArbitrary,
        indexesPerRequestMaxArbitrary,
        ({ options, a, b }, indexesPerRequestMax) => {
          const local = treeFrom(a, options);
          const remote = treeFrom(b, options);
          const { asks, last } = runDescent(local, remote, indexesPerRequestMax);
          const segments = last.type === 'done' ? last.segments : [];
          for (const { level, indexes } of asks) {
            expect(indexes.length).toBeGreaterThanOrEqual(1);
            expect(indexes.length).toBeLessThanOrEqual(indexesPerRequestMax);
            expect(checkLevelRequest(remote, level, indexes)).toBeUndefined();
          }
          const levels = local.levelCount();
          for (let level = 0; level < levels; level++) {
            const onLevel = asks.filter((ask) => ask.level === level).flatMap((ask) => ask.indexes);
            expect(new Set(onLevel).size).toBe(onLevel.length);
          }
          const asked = asks.reduce((n, ask) => n + ask.indexes.length, 0);
          expect(asked).toBeLessThanOrEqual(1 + (levels - 1) * options.fanout * segments.length);
          if (indexesPerRequestMax === nodeIndexesPerRequestMax)
            expect(asks).toHaveLength(segments.length === 0 ? 1 : levels);
        },
      ),
      { seed, numRuns: 150 },
    );
  });
});
