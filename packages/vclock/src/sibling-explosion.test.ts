import { describe, expect, it } from 'vitest';
import type { DVVSet, VersionVector } from './index.js';
import { fresh, join, sync, update, values } from './index.js';

// Riak's sibling_explosion test (basho/riak_test, tests/verify_dvv_repeats and sibling_explosion):
// two clients alternate writes, each passing the context returned by its own previous write.
// With DVVSets each write supersedes the writer's previous value, so two siblings remain. With
// plain per-node vector clocks (Riak's vnode_vclocks before DVVs) a write whose context does not
// descend the stored clock keeps every stored value, so siblings pile up.

const writesMax = 1000;
const coordinators = ['node-a', 'node-b', 'node-c'] as const;
const clientCount = 2;

interface Client {
  context: VersionVector;
}

/** Per-node vector clocks as Riak's riak_kv_vnode:put_merge/6 applied them: one clock per object. */
interface NaiveObject {
  readonly clock: VersionVector;
  readonly values: readonly number[];
}

// The baseline's version-vector operations: Ringstore itself only carries contexts, never
// compares or merges plain vectors, so they live here with the model that needs them.
function counterOf(vv: VersionVector, actor: string): number {
  return vv.find(([a]) => a === actor)?.[1] ?? 0;
}

/** `a` has seen every event `b` has: a[actor] >= b[actor] for every actor of b. */
function vvDescends(a: VersionVector, b: VersionVector): boolean {
  return b.every(([actor, counter]) => counterOf(a, actor) >= counter);
}

/** Pointwise maximum, sorted by actor. */
function vvMerge(a: VersionVector, b: VersionVector): VersionVector {
  const actors = [...new Set([...a, ...b].map(([actor]) => actor))].sort();
  return actors.map(
    (actor) => [actor, Math.max(counterOf(a, actor), counterOf(b, actor))] as const,
  );
}

function increment(vv: VersionVector, actor: string): VersionVector {
  return vvMerge(vv, [[actor, counterOf(vv, actor) + 1]]);
}

function naivePut(
  stored: NaiveObject | undefined,
  value: number,
  context: VersionVector,
  actor: string,
): NaiveObject {
  const incoming = increment(context, actor);
  if (stored === undefined) return { clock: incoming, values: [value] };
  const replaces =
    counterOf(incoming, actor) > counterOf(stored.clock, actor) &&
    vvDescends(incoming, stored.clock) &&
    !vvDescends(stored.clock, incoming);
  if (replaces) return { clock: incoming, values: [value] };
  // riak_object:merge: the union of both contents under the merged clock, incremented again
  return {
    clock: increment(vvMerge(stored.clock, incoming), actor),
    values: [...stored.values, value],
  };
}

function naiveSync(a: NaiveObject, b: NaiveObject): NaiveObject {
  if (vvDescends(a.clock, b.clock)) return a;
  if (vvDescends(b.clock, a.clock)) return b;
  return { clock: vvMerge(a.clock, b.clock), values: [...new Set([...a.values, ...b.values])] };
}

/** Runs the alternating writers over replicas of type T; every write reaches every replica. */
function alternateWrites<T>(
  put: (stored: T | undefined, value: number, context: VersionVector, actor: string) => T,
  merge: (a: T, b: T) => T,
  contextOf: (stored: T) => VersionVector,
  afterWrite: (stored: T) => void,
): T {
  const replicas: (T | undefined)[] = coordinators.map(() => undefined);
  const clients: Client[] = Array.from({ length: clientCount }, () => ({ context: [] }));
  for (let write = 0; write < writesMax; write++) {
    const client = clients[write % clientCount]!;
    const coordinator = write % coordinators.length;
    const written = put(replicas[coordinator], write, client.context, coordinators[coordinator]!);
    client.context = contextOf(written);
    replicas.forEach(
      (replica, i) =>
        (replicas[i] =
          replica === undefined || i === coordinator ? written : merge(replica, written)),
    );
    afterWrite(written);
  }
  return replicas[0]!;
}

describe('sibling explosion', () => {
  it('two clients alternating 1,000 writes through 3 actors end with 2 siblings and 3 clock entries', () => {
    let siblingsMax = 0;
    const final = alternateWrites<DVVSet<number>>(
      (stored, value, context, actor) => update(fresh(value, context), stored, actor),
      (a, b) => sync(a, b),
      join,
      (written) => (siblingsMax = Math.max(siblingsMax, values(written).length)),
    );
    console.log(
      `DVVSet after ${writesMax} alternating writes: ${values(final).length} siblings, ${final.entries.length} clock entries`,
    );
    expect(values(final)).toHaveLength(2);
    expect(siblingsMax).toBe(2);
    expect(final.entries.length).toBeLessThanOrEqual(coordinators.length);
    // the survivors are each client's last write
    expect([...values(final)].sort((x, y) => x - y)).toEqual([writesMax - 2, writesMax - 1]);
  });

  it('plain per-node vector clocks keep every one of the same writes as a sibling', () => {
    const final = alternateWrites<NaiveObject>(
      naivePut,
      naiveSync,
      (stored) => stored.clock,
      () => undefined,
    );
    console.log(
      `Per-node vector clocks after ${writesMax} alternating writes: ${final.values.length} siblings, ${final.clock.length} clock entries`,
    );
    expect(final.values.length).toBe(writesMax);
  });
});
