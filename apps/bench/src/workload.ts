// YCSB-style workloads: which operation comes next and which key it touches. Pure: randomness
// comes from a seeded generator, so a run's operation sequence (per worker) replays from its seed.
import { createRng } from '@ringstore/tools';

/**
 * The core YCSB workloads we run: A update-heavy, B read-mostly, C read-only, and two of our own:
 * U update-only (the cost of a put of an existing key, next to C's get) and W insert-only.
 */
export type WorkloadName = 'A' | 'B' | 'C' | 'U' | 'W';
export const workloadNames: readonly WorkloadName[] = ['A', 'B', 'C', 'U', 'W'];

export type Operation = 'read' | 'update' | 'insert';

export interface Workload {
  readonly name: WorkloadName;
  readonly description: string;
  /** Proportions of read, update and insert; they sum to 1. */
  readonly read: number;
  readonly update: number;
  readonly insert: number;
}

export const workloads: Readonly<Record<WorkloadName, Workload>> = {
  A: { name: 'A', description: '50% read, 50% update', read: 0.5, update: 0.5, insert: 0 },
  B: { name: 'B', description: '95% read, 5% update', read: 0.95, update: 0.05, insert: 0 },
  C: { name: 'C', description: '100% read', read: 1, update: 0, insert: 0 },
  U: { name: 'U', description: '100% update', read: 0, update: 1, insert: 0 },
  W: { name: 'W', description: '100% insert', read: 0, update: 0, insert: 1 },
};

export type Distribution = 'uniform' | 'zipfian';

/** A uniform draw in [0, 1). */
export type Random = () => number;

/** A seeded uniform generator over [0, 1) (the shared mulberry32 of @ringstore/tools); any 32-bit-wrapped seed. */
export function seededRandom(seed: number): Random {
  const rng = createRng(seed >>> 0);
  return () => rng.next();
}

/** Picks the next operation of a workload. */
export function chooseOperation(workload: Workload, random: Random): Operation {
  const u = random();
  if (u < workload.read) return 'read';
  if (u < workload.read + workload.update) return 'update';
  return 'insert';
}

/** YCSB's zipfian constant: a few keys are very hot. */
export const zipfianTheta = 0.99;
/** Largest item count a zipfian chooser is built for (zeta is summed once, item by item). */
export const zipfianItemsMax = 100_000_000;

/** (items, theta) pairs whose zeta a process keeps: a run uses one or two record counts. */
const zetaCacheMax = 64;
const zetaCache = new Map<string, number>();

/**
 * zeta(items, theta) = sum of 1/i^theta for i in 1..items, summed once per process. Every
 * closed-loop worker of a phase builds its own chooser, and at 1,000,000 items the sum takes tens
 * of milliseconds: summed per worker, 32 of them blocked a load process for over a second.
 */
export function zipfianZeta(items: number, theta = zipfianTheta): number {
  const key = `${items}/${theta}`;
  const known = zetaCache.get(key);
  if (known !== undefined) return known;
  let zeta = 0;
  for (let i = 1; i <= items; i++) zeta += 1 / Math.pow(i, theta);
  if (zetaCache.size >= zetaCacheMax) zetaCache.delete(zetaCache.keys().next().value as string);
  zetaCache.set(key, zeta);
  return zeta;
}

/** How many (items, theta) sums this process holds (at most zetaCacheMax). */
export function zipfianZetasHeld(): number {
  return zetaCache.size;
}

/**
 * Zipfian over [0, items), after Gray et al., "Quickly Generating Billion-Record Synthetic
 * Databases" (the generator YCSB uses): rank 0 is the most popular. zeta(n) is summed once
 * per process (zipfianZeta).
 */
export function zipfianChooser(items: number, random: Random, theta = zipfianTheta): () => number {
  if (!Number.isInteger(items) || items < 1 || items > zipfianItemsMax)
    throw new RangeError(`zipfian items must be an integer in 1..${zipfianItemsMax}, got ${items}`);
  const zetaN = zipfianZeta(items, theta);
  const zeta2 = 1 + 1 / Math.pow(2, theta);
  const alpha = 1 / (1 - theta);
  const eta = (1 - Math.pow(2 / items, 1 - theta)) / (1 - zeta2 / zetaN);
  const half = Math.pow(0.5, theta);
  return () => {
    const u = random();
    const uz = u * zetaN;
    if (uz < 1) return 0;
    if (uz < 1 + half) return Math.min(1, items - 1);
    return Math.min(items - 1, Math.floor(items * Math.pow(eta * u - eta + 1, alpha)));
  };
}

/** FNV-1a 64-bit of a number's decimal digits, as YCSB scrambles ranks (so hot keys spread over the ring). */
export function fnv1a64(n: number): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const c of String(n)) {
    hash ^= BigInt(c.charCodeAt(0));
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash;
}

/**
 * Chooses record numbers in [0, items): uniform, or scrambled zipfian (the popular ranks are
 * hashed onto record numbers, so popularity is not correlated with insertion order or partition).
 */
export function keyChooser(
  distribution: Distribution,
  items: number,
  random: Random,
): () => number {
  if (distribution === 'uniform') {
    if (!Number.isInteger(items) || items < 1)
      throw new RangeError(`uniform items must be a positive integer, got ${items}`);
    return () => Math.floor(random() * items);
  }
  const rank = zipfianChooser(items, random);
  const size = BigInt(items);
  return () => Number(fnv1a64(rank()) % size);
}

/** The key of record i, as YCSB names them. */
export function recordKey(i: number): Buffer {
  return Buffer.from(`user${i}`);
}
