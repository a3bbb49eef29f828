import { assert } from './assert.js';
import { compareLevel } from './compare-level.js';
import type { MerkleTree } from './merkle-tree.js';
import { childIndexes } from './merkle-tree.js';
import type { MerkleWireError } from './wire.js';
import { checkLevelResponse } from './wire.js';

export interface DescentOptions {
  /**
   * Tree nodes named in one request: bounds the request and its answer (× 32-byte hashes). A
   * level with more nodes in question is asked for in several requests, one after the other.
   */
  readonly indexesPerRequestMax: number;
}

/** The peer's hashes for the nodes of the last ask-level effect, in the order asked. */
export interface DescentEvent {
  readonly type: 'level-hashes';
  readonly level: number;
  readonly indexes: readonly number[];
  readonly hashes: readonly Uint8Array[];
}

export type DescentEffect =
  /** Ask the peer for the hashes of these nodes of one level (peer.proto MerkleLevel). */
  | { readonly type: 'ask-level'; readonly level: number; readonly indexes: readonly number[] }
  /** The segments that differ, ascending; empty when the trees are equal. */
  | { readonly type: 'done'; readonly segments: readonly number[] }
  /** The peer's answer does not fit what was asked: the exchange with this peer ends here. */
  | { readonly type: 'failed'; readonly level: number; readonly error: MerkleWireError };

export interface DescentStep {
  readonly state: DescentState;
  readonly effects: DescentEffect[];
}

declare const descentStateBrand: unique symbol;

/** Opaque: only startDescent and stepDescent read it. Never mutated; each step returns a new one. */
export interface DescentState {
  readonly [descentStateBrand]: true;
}

type Phase = 'asking' | 'done' | 'failed';

interface DescentInternal {
  readonly tree: MerkleTree;
  readonly indexesPerRequestMax: number;
  readonly level: number;
  /** The nodes of the request in flight: exactly one request is in flight while asking. */
  readonly asked: readonly number[];
  /** Nodes of this level still to be asked, after the request in flight. */
  readonly queued: readonly number[];
  /** Nodes of this level found to differ so far, ascending. */
  readonly differing: readonly number[];
  readonly phase: Phase;
}

const seal = (s: DescentInternal): DescentState => s as unknown as DescentState;
const open = (s: DescentState): DescentInternal => s as unknown as DescentInternal;

/**
 * Starts the descent of the local tree against a peer's: ask for the root. The tree is read again
 * at every step, as the node's exchange always has: a write that lands during the descent shows
 * in the branches still to compare, and the next round settles the rest.
 */
export function startDescent(tree: MerkleTree, options: DescentOptions): DescentStep {
  const { indexesPerRequestMax } = options;
  assert(
    Number.isInteger(indexesPerRequestMax) && indexesPerRequestMax >= 1,
    `indexesPerRequestMax ${indexesPerRequestMax}`,
  );
  const state: DescentInternal = {
    tree,
    indexesPerRequestMax,
    level: 0,
    asked: [],
    queued: [],
    differing: [],
    phase: 'asking',
  };
  return ask(state, 0, [0], []);
}

/**
 * Feeds the peer's answer to the request in flight. It must answer exactly that request (the
 * node pairs them; anything else is a bug). A wrong number of hashes or a hash of the wrong size
 * ends the descent with a failed effect; otherwise the next request, or done.
 */
export function stepDescent(state: DescentState, event: DescentEvent): DescentStep {
  const s = open(state);
  assert(s.phase === 'asking', `a level-hashes event after the descent is ${s.phase}`);
  assert(
    event.level === s.level && sameIndexes(event.indexes, s.asked),
    `hashes for level ${event.level} (${event.indexes.length} nodes), but level ${s.level} ` +
      `(${s.asked.length} nodes) was asked`,
  );
  const error = checkLevelResponse(s.asked, event.hashes);
  if (error !== undefined) {
    return {
      state: seal({ ...s, phase: 'failed' }),
      effects: [{ type: 'failed', level: s.level, error }],
    };
  }
  const differing = [...s.differing, ...compareLevel(s.tree, s.level, s.asked, event.hashes)];
  if (s.queued.length > 0) return ask(s, s.level, s.queued, differing);
  return nextLevel(s, differing);
}

// A level is done: the leaf level's differing nodes are the segments; otherwise their children
// are the next level's nodes in question (ascending, as their parents are).
function nextLevel(s: DescentInternal, differing: readonly number[]): DescentStep {
  const leafLevel = s.level === s.tree.levelCount() - 1;
  if (leafLevel || differing.length === 0) {
    const segments = leafLevel ? differing : [];
    return {
      state: seal({ ...s, asked: [], queued: [], differing: [], phase: 'done' }),
      effects: [{ type: 'done', segments }],
    };
  }
  const children = differing.flatMap((index) => childIndexes(s.tree, s.level, index));
  return ask(s, s.level + 1, children, []);
}

// Copies the level's lists, O(level width) per request: at the node's 4,096 nodes per request a
// level of 65,536 (segmentsMax) takes 16 requests, so the copies cost nothing next to the calls.
function ask(
  s: DescentInternal,
  level: number,
  inQuestion: readonly number[],
  differing: readonly number[],
): DescentStep {
  const asked = inQuestion.slice(0, s.indexesPerRequestMax);
  const queued = inQuestion.slice(s.indexesPerRequestMax);
  return {
    state: seal({ ...s, level, asked, queued, differing, phase: 'asking' }),
    effects: [{ type: 'ask-level', level, indexes: asked }],
  };
}

function sameIndexes(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((index, k) => index === b[k]);
}
