import { assert } from './assert.js';

/**
 * Per-client rate limits: a token bucket per caller name (the token file's names, `anonymous`
 * for callers without a token). A bucket holds at most `burst` tokens, starts full, and refills
 * at `opsPerSecond`, lazily: each take first adds what the time since the last one earned. A
 * request takes one token or is refused with the time until one is there.
 *
 * Flags: `--rate-limit NAME=OPS_PER_S[:BURST]`, repeatable or comma-separated; NAME `*` or
 * `default` sets the limit of every name without its own (each name still has its own bucket).
 */

export interface RateLimit {
  readonly opsPerSecond: number;
  /** The bucket's capacity: requests a caller may make at once after being idle. */
  readonly burst: number;
}

export interface RateLimits {
  readonly byName: ReadonlyMap<string, RateLimit>;
  /** For any name without its own entry; undefined: such names are not limited. */
  readonly fallback: RateLimit | undefined;
}

/** Above a million requests per second a single client's limit means nothing to one node. */
export const opsPerSecondMax = 1_000_000;
/** Ten seconds of the highest rate: a larger burst is no limit at all. */
export const burstMax = 10_000_000;
/** Flag entries: at most one per token name (tokensMax) and the default. */
export const rateLimitEntriesMax = 10_001;
/**
 * Buckets kept: names come from the token file (at most 10,000) plus `anonymous`; beyond this the
 * least recently used bucket is dropped (its caller starts again with a full bucket).
 */
export const rateLimitNamesMax = 10_000;

/** Response metadata keys that tell a caller where it stands. */
export const rateLimitHeaders = {
  /** The bucket's capacity (burst). */
  limit: 'x-ratelimit-limit',
  /** Whole tokens left after this request. */
  remaining: 'x-ratelimit-remaining',
  /** On a refusal: milliseconds until a token is there. */
  retryAfterMs: 'retry-after-ms',
} as const;

/** A `--rate-limit` value the node cannot use; `entry` is the offending NAME=... part. */
export class RateLimitSpecError extends Error {
  override readonly name = 'RateLimitSpecError';
  constructor(
    readonly entry: string,
    message: string,
  ) {
    super(message);
  }
}

const namePattern = /^[A-Za-z0-9_.-]{1,64}$/;
const entryPattern = /^([^=]*)=(\d+)(?::(\d+))?$/;
const defaultNames: ReadonlySet<string> = new Set(['*', 'default']);
/** Entries echoed in errors are cut to this: they are operator input, but may be anything. */
const entryShownCharsMax = 80;

function specError(entry: string, why: string): RateLimitSpecError {
  const shown =
    entry.length > entryShownCharsMax ? `${entry.slice(0, entryShownCharsMax)}...` : entry;
  return new RateLimitSpecError(entry, `--rate-limit "${shown}": ${why}`);
}

function parseEntry(entry: string): { name: string; limit: RateLimit } {
  const match = entryPattern.exec(entry);
  if (match === null) throw specError(entry, 'expected NAME=OPS_PER_S[:BURST]');
  const [, name = '', opsText = '', burstText] = match;
  if (!defaultNames.has(name) && !namePattern.test(name))
    throw specError(entry, 'NAME must be * or default, or 1-64 letters, digits, _ . -');
  const opsPerSecond = Number(opsText);
  if (opsPerSecond < 1 || opsPerSecond > opsPerSecondMax)
    throw specError(entry, `OPS_PER_S must be an integer 1..${opsPerSecondMax}`);
  const burst = burstText === undefined ? Math.max(1, opsPerSecond) : Number(burstText);
  if (burst < 1 || burst > burstMax)
    throw specError(entry, `BURST must be an integer 1..${burstMax}`);
  return { name: defaultNames.has(name) ? '*' : name, limit: { opsPerSecond, burst } };
}

/** Parses every `--rate-limit` value given; empty entries (a trailing comma) are skipped. */
export function parseRateLimits(values: string | readonly string[]): RateLimits {
  const entries = (typeof values === 'string' ? [values] : values)
    .flatMap((v) => v.split(','))
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length > rateLimitEntriesMax)
    throw new RateLimitSpecError('', `--rate-limit: more than ${rateLimitEntriesMax} entries`);
  const byName = new Map<string, RateLimit>();
  let fallback: RateLimit | undefined;
  for (const entry of entries) {
    const { name, limit } = parseEntry(entry);
    if (name === '*') {
      if (fallback !== undefined) throw specError(entry, 'the default (* or default) given twice');
      fallback = limit;
    } else {
      if (byName.has(name)) throw specError(entry, `${name} given twice`);
      byName.set(name, limit);
    }
  }
  return { byName, fallback };
}

export type RateDecision =
  | { readonly allowed: true; readonly limit: number; readonly remaining: number }
  /** A name without a limit (and no default). */
  | { readonly allowed: true; readonly limit: undefined; readonly remaining: undefined }
  | {
      readonly allowed: false;
      readonly limit: number;
      readonly remaining: 0;
      readonly retryAfterMs: number;
    };

/**
 * Bucket contents in thousandths of a token: refilling at R per second adds exactly R of them per
 * millisecond, so with whole-millisecond clocks the arithmetic stays in integers.
 */
const unit = 1000;

interface Bucket {
  level: number;
  refilledAtMs: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limits: RateLimits,
    private readonly namesMax = rateLimitNamesMax,
  ) {
    assert(Number.isSafeInteger(namesMax) && namesMax >= 1, `namesMax ${namesMax}`);
  }

  /** The limit that applies to a name: its own, else the default, else none. */
  limitOf(name: string): RateLimit | undefined {
    return this.limits.byName.get(name) ?? this.limits.fallback;
  }

  /** Buckets held (at most namesMax). */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Takes `count` tokens (one per operation: a batch of n items takes n, at most the burst, so a
   * batch is never refused forever) from `name`'s bucket at time nowMs (a monotonic clock, ms).
   */
  take(name: string, nowMs: number, count = 1): RateDecision {
    assert(Number.isFinite(nowMs), `nowMs ${nowMs}`);
    assert(Number.isSafeInteger(count) && count >= 1, `count ${count}`);
    const limit = this.limitOf(name);
    if (limit === undefined) return { allowed: true, limit: undefined, remaining: undefined };
    const bucket = this.bucketOf(name, limit, nowMs);
    refill(bucket, limit, nowMs);
    const cost = Math.min(count, limit.burst) * unit;
    if (bucket.level >= cost) {
      bucket.level -= cost;
      return { allowed: true, limit: limit.burst, remaining: Math.floor(bucket.level / unit) };
    }
    const retryAfterMs = Math.ceil((cost - bucket.level) / limit.opsPerSecond);
    return { allowed: false, limit: limit.burst, remaining: 0, retryAfterMs };
  }

  /** The name's bucket, now the most recently used; a new one starts full. */
  private bucketOf(name: string, limit: RateLimit, nowMs: number): Bucket {
    const bucket = this.buckets.get(name) ?? { level: limit.burst * unit, refilledAtMs: nowMs };
    // A Map iterates in insertion order: re-inserting keeps the least recently used first.
    this.buckets.delete(name);
    this.buckets.set(name, bucket);
    if (this.buckets.size > this.namesMax) {
      const oldest = this.buckets.keys().next();
      if (oldest.done !== true) this.buckets.delete(oldest.value);
    }
    assert(this.buckets.size <= this.namesMax, `${this.buckets.size} buckets`);
    return bucket;
  }
}

function refill(bucket: Bucket, limit: RateLimit, nowMs: number): void {
  // A clock that stepped back earns nothing, and does not move the refill time back either.
  const elapsedMs = Math.max(0, nowMs - bucket.refilledAtMs);
  bucket.level = Math.min(limit.burst * unit, bucket.level + elapsedMs * limit.opsPerSecond);
  bucket.refilledAtMs = Math.max(bucket.refilledAtMs, nowMs);
}

/** The response metadata for a decision (none for an unlimited name). */
export function rateLimitMetadata(decision: RateDecision): readonly (readonly [string, string])[] {
  if (decision.limit === undefined) return [];
  const entries: (readonly [string, string])[] = [
    [rateLimitHeaders.limit, String(decision.limit)],
    [rateLimitHeaders.remaining, String(decision.remaining)],
  ];
  if (!decision.allowed)
    entries.push([rateLimitHeaders.retryAfterMs, String(decision.retryAfterMs)]);
  return entries;
}
