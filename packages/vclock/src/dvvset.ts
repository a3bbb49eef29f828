import { assert } from './assert.js';
import { CounterRangeError } from './decode-error.js';
import {
  assertActor,
  assertVersionVector,
  counterMax,
  isActor,
  isCounter,
  type VersionVector,
} from './version-vector.js';

/**
 * One coordinating actor's part of a clock: it has seen the dots (actor, 1..counter), and its
 * values are the ones still alive, newest first, at dots (actor, counter), (actor, counter - 1), ...
 */
export interface Entry<V> {
  readonly actor: string;
  readonly counter: number;
  readonly values: readonly V[];
}

/**
 * A dotted version vector set (Almeida et al. 2014; Riak's dvvset): the siblings of one key with
 * their causal history. `entries` are sorted by actor. `anonymous` holds values without a dot:
 * the value of a client's write before a coordinator gives it one (see `fresh`). Replicas only
 * store the results of `update` and `sync`, whose anonymous list is empty unless an anonymous
 * value was given to them.
 */
export interface DVVSet<V> {
  readonly entries: readonly Entry<V>[];
  readonly anonymous: readonly V[];
}

/** How `sync` recognises the same anonymous value on both sides (dotted values need no equality). */
export type ValueEquals<V> = (a: V, b: V) => boolean;

/**
 * Why `c` is not a clock this package could have built, or undefined when it is: entries sorted by
 * actor, each actor once and well formed, counters in 1..2^53-1, and no more values than dots.
 */
export function clockProblem<V>(c: DVVSet<V>): string | undefined {
  let previous: string | undefined;
  for (const { actor, counter, values } of c.entries) {
    if (!isActor(actor)) return `actor ${JSON.stringify(actor)} is empty or not well formed`;
    if (previous !== undefined && previous >= actor)
      return `actors not sorted: ${previous} then ${actor}`;
    if (!isCounter(counter)) return `counter of ${actor} is ${counter}, not in 1..${counterMax}`;
    if (values.length > counter)
      return `${actor} has ${values.length} values but only ${counter} dots`;
    previous = actor;
  }
  return undefined;
}

export function assertClock<V>(c: DVVSet<V>): void {
  const problem = clockProblem(c);
  assert(problem === undefined, () => `malformed clock: ${problem}`);
}

/** A client's write (dvvset:new/2): `value` with the context the client read, [] for none. */
export function fresh<V>(value: V, context: VersionVector = []): DVVSet<V> {
  assertVersionVector(context);
  return {
    entries: context.map(([actor, counter]) => ({ actor, counter, values: [] })),
    anonymous: [value],
  };
}

/**
 * A coordinator's put (dvvset:update/3): discard the values of `server` that the client's context
 * covers, then add the client's value at dot (actor, next counter). `server` is the coordinator's
 * stored clock for the key, undefined when it has none. `client` must come from `fresh`. Throws
 * CounterRangeError, changing nothing, when the actor's counter is already at counterMax.
 */
export function update<V>(
  client: DVVSet<V>,
  server: DVVSet<V> | undefined,
  actor: string,
): DVVSet<V> {
  assertActor(actor);
  assert(
    client.anonymous.length === 1,
    () => `update takes fresh(value, context): got ${client.anonymous.length} values`,
  );
  assert(
    client.entries.every((entry) => entry.values.length === 0),
    'update takes fresh(value, context): the client clock carries dotted values',
  );
  const value = client.anonymous[0] as V; // length checked above; V itself may include undefined
  const context: DVVSet<V> = { entries: client.entries, anonymous: [] };
  const base = server === undefined ? context : sync(context, server);
  return { entries: addEvent(base.entries, actor, value), anonymous: base.anonymous };
}

/**
 * Merge two replicas' clocks (dvvset:sync/2): keep every value that neither side has seen
 * superseded. On clocks without anonymous values (all that replicas hold) this is a join:
 * commutative, associative and idempotent. Anonymous values are kept from the side whose clock
 * is strictly newer, or from both (without duplicates under `equals`) when neither is.
 */
export function sync<V>(a: DVVSet<V>, b: DVVSet<V>, equals: ValueEquals<V> = Object.is): DVVSet<V> {
  if (a === b) return a;
  return { entries: syncEntries(a.entries, b.entries), anonymous: syncAnonymous(a, b, equals) };
}

/** The causal context handed to clients: every dot the clock has seen. */
export function join<V>(c: DVVSet<V>): VersionVector {
  return c.entries.map((entry) => [entry.actor, entry.counter] as const);
}

/** The surviving siblings: anonymous values first, then each entry's values, newest first. */
export function values<V>(c: DVVSet<V>): V[] {
  const all = [...c.anonymous];
  for (const entry of c.entries) all.push(...entry.values);
  return all;
}

/**
 * Same dots (dvvset:equal/2, plus the number of anonymous values): two replicas that agree need
 * no read repair. Values are not compared: a dot names one value.
 */
export function sameVersion<V>(a: DVVSet<V>, b: DVVSet<V>): boolean {
  if (a.anonymous.length !== b.anonymous.length || a.entries.length !== b.entries.length)
    return false;
  return a.entries.every((x, i) => {
    const y = b.entries[i];
    return (
      y !== undefined &&
      y.actor === x.actor &&
      y.counter === x.counter &&
      y.values.length === x.values.length
    );
  });
}

/** `a` has seen every dot `b` has seen (so `sync(a, b)` has the same dots as `a`). */
export function descends<V>(a: DVVSet<V>, b: DVVSet<V>): boolean {
  return entriesDescend(a.entries, b.entries);
}

function entriesDescend<V>(a: readonly Entry<V>[], b: readonly Entry<V>[]): boolean {
  if (a.length < b.length) return false;
  let i = 0;
  for (const theirs of b) {
    let mine = a[i];
    while (mine !== undefined && mine.actor < theirs.actor) mine = a[++i];
    if (mine === undefined || mine.actor !== theirs.actor || mine.counter < theirs.counter)
      return false;
  }
  return true;
}

/** `a` is strictly older than `b`: b has seen all a has, and more (dvvset:less/2). */
function strictlyOlder<V>(a: DVVSet<V>, b: DVVSet<V>): boolean {
  return entriesDescend(b.entries, a.entries) && !entriesDescend(a.entries, b.entries);
}

function syncAnonymous<V>(a: DVVSet<V>, b: DVVSet<V>, equals: ValueEquals<V>): readonly V[] {
  if (a.anonymous.length === 0 && b.anonymous.length === 0) return a.anonymous;
  if (strictlyOlder(a, b)) return b.anonymous;
  if (strictlyOlder(b, a)) return a.anonymous;
  const kept: V[] = [];
  for (const value of [...a.anonymous, ...b.anonymous]) {
    if (!kept.some((other) => equals(other, value))) kept.push(value);
  }
  return kept;
}

function syncEntries<V>(a: readonly Entry<V>[], b: readonly Entry<V>[]): Entry<V>[] {
  const merged: Entry<V>[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (x !== undefined && (y === undefined || x.actor < y.actor)) {
      merged.push(x);
      i++;
    } else if (y !== undefined && (x === undefined || y.actor < x.actor)) {
      merged.push(y);
      j++;
    } else if (x !== undefined && y !== undefined) {
      merged.push(mergeEntry(x, y));
      i++;
      j++;
    }
  }
  return merged;
}

/**
 * One actor's entries from two clocks. Each side has seen dots 1..counter and knows that the dots
 * below its values (1..counter - values.length) are superseded. The newer side's values survive
 * except those the other side knows to be superseded. A dot names one value, so when both sides
 * hold a dot they hold the same value.
 */
function mergeEntry<V>(x: Entry<V>, y: Entry<V>): Entry<V> {
  const [newer, older] = x.counter >= y.counter ? [x, y] : [y, x];
  const newerSupersededMax = newer.counter - newer.values.length;
  const olderSupersededMax = older.counter - older.values.length;
  if (newerSupersededMax >= olderSupersededMax) return newer;
  const kept = newer.values.slice(0, newer.counter - olderSupersededMax);
  return { actor: newer.actor, counter: newer.counter, values: kept };
}

/** Add `value` at the next dot of `actor`, keeping entries sorted. */
function addEvent<V>(entries: readonly Entry<V>[], actor: string, value: V): Entry<V>[] {
  const result: Entry<V>[] = [];
  let added = false;
  for (const entry of entries) {
    if (!added && entry.actor === actor) {
      if (entry.counter >= counterMax) throw new CounterRangeError(actor, entry.counter);
      result.push({ actor, counter: entry.counter + 1, values: [value, ...entry.values] });
      added = true;
    } else {
      if (!added && actor < entry.actor) {
        result.push({ actor, counter: 1, values: [value] });
        added = true;
      }
      result.push(entry);
    }
  }
  if (!added) result.push({ actor, counter: 1, values: [value] });
  return result;
}
