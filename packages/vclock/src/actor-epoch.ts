import { assert } from './assert.js';
import type { DVVSet } from './dvvset.js';
import { counterMax, type VersionVector } from './version-vector.js';

/**
 * Per-key actor epochs (Riak's fix for kv679, "dot reuse"). A node's dots name `base/epoch`, not
 * `base` alone. A coordinator keeps using the newest epoch of its own that the key's stored clock
 * holds; when the stored clock holds none (the key is new here, or was removed here: a reaped
 * tombstone, a partition handed away, a corrupt copy), or the client's context shows a later dot
 * of it than the stored clock (the local copy lost dots), the write starts a new epoch, an actor
 * never used before. Its counters then start at 1 without meeting a surviving older dot that
 * names the same actor: a reused dot would make the new value look already seen, and DVVSet sync
 * would drop it (or keep the old value in its place, since a dot names one value).
 */

/** Separates a node's storage actor from the epoch number in the actors it writes dots under. */
export const epochSeparator = '/';

/** The actor of one epoch of a node's storage actor `base`. */
export function epochActor(base: string, epoch: number): string {
  assert(Number.isSafeInteger(epoch) && epoch > 0, () => `epoch must be a positive integer`);
  return `${base}${epochSeparator}${epoch}`;
}

/** The epoch of `actor` when it is one of `base`'s epoch actors, else undefined. */
export function epochOf(actor: string, base: string): number | undefined {
  const prefix = base + epochSeparator;
  if (!actor.startsWith(prefix)) return undefined;
  const digits = actor.slice(prefix.length);
  if (!/^[1-9][0-9]{0,15}$/.test(digits)) return undefined;
  const epoch = Number(digits);
  return Number.isSafeInteger(epoch) ? epoch : undefined;
}

/** base's newest epoch among `actors` with its counter, or undefined when none is base's. */
function newestEpoch(
  actors: Iterable<readonly [string, number]>,
  base: string,
): { actor: string; epoch: number; counter: number } | undefined {
  let newest: { actor: string; epoch: number; counter: number } | undefined;
  for (const [actor, counter] of actors) {
    const epoch = epochOf(actor, base);
    if (epoch !== undefined && (newest === undefined || epoch > newest.epoch))
      newest = { actor, epoch, counter };
  }
  return newest;
}

/**
 * The actor a coordinator with storage actor `base` may name in the next dot of a key, given the
 * key's stored clock (undefined when it has none) and the client's context; undefined when the
 * write must start a new epoch (see the module comment).
 */
export function reusableActor<V>(
  server: DVVSet<V> | undefined,
  context: VersionVector,
  base: string,
): string | undefined {
  if (server === undefined) return undefined;
  const stored = newestEpoch(
    server.entries.map((e) => [e.actor, e.counter] as const),
    base,
  );
  // An epoch whose counter is used up (only a hostile or broken peer gets it there) is left
  // behind: the write starts a new one instead of failing for good.
  if (stored === undefined || stored.counter >= counterMax) return undefined;
  const seen = newestEpoch(context, base);
  if (seen === undefined) return stored.actor;
  const behind =
    seen.epoch > stored.epoch || (seen.epoch === stored.epoch && seen.counter > stored.counter);
  return behind ? undefined : stored.actor;
}
