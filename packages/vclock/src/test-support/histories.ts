import fc from 'fast-check';
import type { DVVSet, VersionVector } from '../index.js';
import { fresh, join, sync, update } from '../index.js';

/**
 * Random histories of one key on a small cluster: clients read a replica (keeping its context),
 * write through a coordinator (the coordinator's actor updates its own replica), and replicas
 * exchange their clocks with sync. Each history runs twice: through the DVVSet and through a
 * reference model that keeps explicit sets of dots, so tests can compare the two.
 */

/** Actor names: one non-ASCII, so ordering and encodings see more than ASCII. */
export const actors = ['node-a', 'node-b', 'nöde-c'] as const;
export const clientCount = 3;

export type Op =
  | { readonly kind: 'read'; readonly client: number; readonly replica: number }
  | {
      readonly kind: 'put';
      readonly client: number;
      readonly coordinator: number;
      readonly keepContext: boolean;
    }
  | { readonly kind: 'sync'; readonly from: number; readonly to: number };

const replicaArbitrary = fc.nat(actors.length - 1);
const clientArbitrary = fc.nat(clientCount - 1);

export const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('read' as const),
    client: clientArbitrary,
    replica: replicaArbitrary,
  }),
  fc.record({
    kind: fc.constant('put' as const),
    client: clientArbitrary,
    coordinator: replicaArbitrary,
    keepContext: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('sync' as const), from: replicaArbitrary, to: replicaArbitrary }),
);

export const historyArbitrary = fc.array(opArbitrary, { maxLength: 60 });

/** The reference model of one replica: every dot it has seen, and the values at dots still alive. */
export interface ModelReplica {
  readonly seen: ReadonlySet<string>;
  readonly live: ReadonlyMap<string, number>;
}

export interface HistoryResult {
  readonly replicas: readonly (DVVSet<number> | undefined)[];
  readonly model: readonly ModelReplica[];
  /** Every non-empty replica state along the way, in order. */
  readonly snapshots: readonly DVVSet<number>[];
  readonly writes: number;
}

const dotKey = (actor: string, counter: number): string => `${actor}\u0000${counter}`;

function modelPut(
  replica: ModelReplica,
  context: ReadonlySet<string>,
  actor: string,
  value: number,
): ModelReplica {
  const seen = new Set([...replica.seen, ...context]);
  let counterMax = 0;
  for (const dot of seen) {
    const [dotActor, counter = '0'] = dot.split('\u0000');
    if (dotActor === actor) counterMax = Math.max(counterMax, Number(counter));
  }
  const live = new Map([...replica.live].filter(([dot]) => !context.has(dot)));
  const dot = dotKey(actor, counterMax + 1);
  seen.add(dot);
  live.set(dot, value);
  return { seen, live };
}

function modelSync(a: ModelReplica, b: ModelReplica): ModelReplica {
  const keep = (dot: string, other: ModelReplica): boolean =>
    other.live.has(dot) || !other.seen.has(dot);
  const live = new Map([...a.live].filter(([dot]) => keep(dot, b)));
  for (const [dot, value] of b.live) if (keep(dot, a)) live.set(dot, value);
  return { seen: new Set([...a.seen, ...b.seen]), live };
}

/** The context a model replica hands out: the highest counter seen per actor. */
export function modelJoin(replica: ModelReplica): VersionVector {
  const maxima = new Map<string, number>();
  for (const dot of replica.seen) {
    const [actor = '', counter = '0'] = dot.split('\u0000');
    maxima.set(actor, Math.max(maxima.get(actor) ?? 0, Number(counter)));
  }
  return [...maxima].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
}

interface ClientState {
  context: VersionVector;
  modelContext: ReadonlySet<string>;
}

export function runHistory(ops: readonly Op[]): HistoryResult {
  const empty: ModelReplica = { seen: new Set(), live: new Map() };
  const replicas: (DVVSet<number> | undefined)[] = actors.map(() => undefined);
  const model: ModelReplica[] = actors.map(() => empty);
  const clients: ClientState[] = Array.from({ length: clientCount }, () => ({
    context: [],
    modelContext: new Set(),
  }));
  const snapshots: DVVSet<number>[] = [];
  let writes = 0;
  for (const op of ops) {
    if (op.kind === 'read') {
      const client = clients[op.client]!;
      client.context = replicas[op.replica] === undefined ? [] : join(replicas[op.replica]!);
      client.modelContext = new Set(model[op.replica]!.seen);
    } else if (op.kind === 'put') {
      const client = clients[op.client]!;
      const value = writes++;
      const actor = actors[op.coordinator]!;
      const written = update(fresh(value, client.context), replicas[op.coordinator], actor);
      replicas[op.coordinator] = written;
      model[op.coordinator] = modelPut(model[op.coordinator]!, client.modelContext, actor, value);
      snapshots.push(written);
      if (op.keepContext) {
        client.context = join(written);
        client.modelContext = new Set(model[op.coordinator]!.seen);
      }
    } else {
      const from = replicas[op.from];
      const to = replicas[op.to];
      if (from === undefined) continue;
      const merged = to === undefined ? from : sync(to, from);
      replicas[op.to] = merged;
      model[op.to] = modelSync(model[op.to]!, model[op.from]!);
      snapshots.push(merged);
    }
  }
  return { replicas, model, snapshots, writes };
}

/** Brings every replica up to date, as anti-entropy would. */
export function syncAll(replicas: readonly (DVVSet<number> | undefined)[]): DVVSet<number> {
  let merged: DVVSet<number> = { entries: [], anonymous: [] };
  for (const replica of replicas) if (replica !== undefined) merged = sync(merged, replica);
  return merged;
}

export const sortedNumbers = (values: readonly number[]): number[] =>
  [...values].sort((x, y) => x - y);
