import { describe, expect, it } from 'vitest';
import {
  RateLimitSpecError,
  RateLimiter,
  parseRateLimits,
  rateLimitEntriesMax,
  rateLimitHeaders,
  rateLimitMetadata,
  rateLimitNamesMax,
  type RateLimits,
} from './rate-limit.js';

const testTimeoutMs = 5_000;

function limits(byName: Record<string, [number, number]>, fallback?: [number, number]): RateLimits {
  const spec = ([opsPerSecond, burst]: [number, number]) => ({ opsPerSecond, burst });
  return {
    byName: new Map(Object.entries(byName).map(([name, l]) => [name, spec(l)])),
    fallback: fallback === undefined ? undefined : spec(fallback),
  };
}

function specErrorOf(value: string): RateLimitSpecError {
  try {
    parseRateLimits(value);
  } catch (e) {
    if (e instanceof RateLimitSpecError) return e;
    throw e;
  }
  throw new Error('parsed without error');
}

describe('parseRateLimits', { timeout: testTimeoutMs }, () => {
  it('reads repeated and comma-separated entries, with the burst defaulting to the rate', () => {
    const parsed = parseRateLimits(['app=100:500, batch=5', 'anonymous=1,']);
    expect(parsed).toEqual(limits({ app: [100, 500], batch: [5, 5], anonymous: [1, 1] }));
  });

  it.each(['*', 'default'])('takes %s as the default for names without their own', (name) => {
    expect(parseRateLimits(`${name}=20:40,ops=1000`)).toEqual(
      limits({ ops: [1000, 1000] }, [20, 40]),
    );
  });

  it('takes the bounds themselves', () => {
    expect(parseRateLimits('a=1:1,b=1000000:10000000')).toEqual(
      limits({ a: [1, 1], b: [1_000_000, 10_000_000] }),
    );
  });

  it('gives no limits for no values', () => {
    expect(parseRateLimits([])).toEqual(limits({}));
    expect(parseRateLimits(' , ')).toEqual(limits({}));
  });

  it.each([
    ['app', '--rate-limit "app": expected NAME=OPS_PER_S[:BURST]'],
    ['app=', '--rate-limit "app=": expected NAME=OPS_PER_S[:BURST]'],
    ['app=10:', '--rate-limit "app=10:": expected NAME=OPS_PER_S[:BURST]'],
    ['app=1.5', '--rate-limit "app=1.5": expected NAME=OPS_PER_S[:BURST]'],
    ['app=-1', '--rate-limit "app=-1": expected NAME=OPS_PER_S[:BURST]'],
    ['app=1e3', '--rate-limit "app=1e3": expected NAME=OPS_PER_S[:BURST]'],
    ['app=0', '--rate-limit "app=0": OPS_PER_S must be an integer 1..1000000'],
    ['app=1000001', '--rate-limit "app=1000001": OPS_PER_S must be an integer 1..1000000'],
    ['app=10:0', '--rate-limit "app=10:0": BURST must be an integer 1..10000000'],
    ['app=10:10000001', '--rate-limit "app=10:10000001": BURST must be an integer 1..10000000'],
    ['=10', '--rate-limit "=10": NAME must be * or default, or 1-64 letters, digits, _ . -'],
    ['a/b=10', '--rate-limit "a/b=10": NAME must be * or default, or 1-64 letters, digits, _ . -'],
    ['app=1,app=2', '--rate-limit "app=2": app given twice'],
    ['*=1,default=2', '--rate-limit "default=2": the default (* or default) given twice'],
  ])('refuses %j', (value, message) => {
    const error = specErrorOf(value);
    expect(error.message).toBe(message);
    expect(message).toContain(`"${error.entry}"`);
  });

  it('carries the entry, and cuts a long one in the message', () => {
    const entry = `${'n'.repeat(100)}=x`;
    const error = specErrorOf(entry);
    expect(error.entry).toBe(entry);
    expect(error.message).toBe(
      `--rate-limit "${'n'.repeat(80)}...": expected NAME=OPS_PER_S[:BURST]`,
    );
  });

  it(`refuses more than ${rateLimitEntriesMax} entries`, () => {
    const value = Array.from({ length: rateLimitEntriesMax + 1 }, (_, i) => `n${i}=1`).join(',');
    expect(() => parseRateLimits(value)).toThrow(`more than ${rateLimitEntriesMax} entries`);
  });
});

describe('RateLimiter.take', { timeout: testTimeoutMs }, () => {
  it('takes one token per item of a batch, at most the burst', () => {
    const limiter = new RateLimiter(limits({ app: [10, 5] }));
    expect(limiter.take('app', 0, 3)).toEqual({ allowed: true, limit: 5, remaining: 2 });
    expect(limiter.take('app', 0, 3)).toMatchObject({ allowed: false, retryAfterMs: 100 });
    // A batch larger than the burst costs the burst: refused until the bucket is full, never forever.
    expect(limiter.take('app', 300, 25)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('spends the burst, then refuses with the time until the next token', () => {
    const limiter = new RateLimiter(limits({ app: [10, 3] }));
    expect(limiter.take('app', 0)).toEqual({ allowed: true, limit: 3, remaining: 2 });
    expect(limiter.take('app', 0)).toEqual({ allowed: true, limit: 3, remaining: 1 });
    expect(limiter.take('app', 0)).toEqual({ allowed: true, limit: 3, remaining: 0 });
    expect(limiter.take('app', 0)).toEqual({
      allowed: false,
      limit: 3,
      remaining: 0,
      retryAfterMs: 100,
    });
    expect(limiter.take('app', 99)).toMatchObject({ allowed: false, retryAfterMs: 1 });
    expect(limiter.take('app', 100)).toEqual({ allowed: true, limit: 3, remaining: 0 });
    // 30 ms earn 0.3 of a token: 70 ms to go, exactly (no floating-point 71).
    expect(limiter.take('app', 130)).toMatchObject({ allowed: false, retryAfterMs: 70 });
    expect(limiter.take('app', 200)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('refills lazily up to the burst, never beyond', () => {
    const limiter = new RateLimiter(limits({ app: [1000, 5] }));
    for (let i = 0; i < 5; i++) limiter.take('app', 0);
    expect(limiter.take('app', 0).allowed).toBe(false);
    expect(limiter.take('app', 2)).toEqual({ allowed: true, limit: 5, remaining: 1 });
    expect(limiter.take('app', 3_600_000)).toEqual({ allowed: true, limit: 5, remaining: 4 });
  });

  it('rounds the wait up to a whole millisecond at high rates', () => {
    const limiter = new RateLimiter(limits({ fast: [1_000_000, 1] }));
    expect(limiter.take('fast', 0).allowed).toBe(true);
    expect(limiter.take('fast', 0)).toMatchObject({ allowed: false, retryAfterMs: 1 });
    // A token a microsecond: half of one after 0.5 µs, a whole one after 1 µs.
    expect(limiter.take('fast', 0.0005)).toMatchObject({ allowed: false, retryAfterMs: 1 });
    expect(limiter.take('fast', 0.001).allowed).toBe(true);
  });

  it('earns nothing from a clock stepping back, and keeps its refill time', () => {
    const limiter = new RateLimiter(limits({ app: [10, 1] }));
    expect(limiter.take('app', 1000).allowed).toBe(true);
    expect(limiter.take('app', 500)).toMatchObject({ allowed: false, retryAfterMs: 100 });
    // 50 ms after 1000 (not 550 after 500): half a token.
    expect(limiter.take('app', 1050)).toMatchObject({ allowed: false, retryAfterMs: 50 });
  });

  it('keeps a bucket per name; the default applies to each name on its own', () => {
    const limiter = new RateLimiter(limits({ vip: [100, 2] }, [1, 1]));
    expect(limiter.take('a', 0)).toEqual({ allowed: true, limit: 1, remaining: 0 });
    expect(limiter.take('a', 0).allowed).toBe(false);
    expect(limiter.take('b', 0)).toEqual({ allowed: true, limit: 1, remaining: 0 });
    expect(limiter.take('anonymous', 0).allowed).toBe(true);
    expect(limiter.take('vip', 0)).toEqual({ allowed: true, limit: 2, remaining: 1 });
    expect(limiter.limitOf('vip')).toEqual({ opsPerSecond: 100, burst: 2 });
    expect(limiter.limitOf('zzz')).toEqual({ opsPerSecond: 1, burst: 1 });
  });

  it('lets names without a limit and without a default through, keeping no bucket', () => {
    const limiter = new RateLimiter(limits({ app: [1, 1] }));
    for (let i = 0; i < 100; i++)
      expect(limiter.take('other', 0)).toEqual({
        allowed: true,
        limit: undefined,
        remaining: undefined,
      });
    expect(limiter.size).toBe(0);
  });

  it('drops the least recently used bucket beyond its bound', () => {
    const limiter = new RateLimiter(limits({}, [1, 1]), 3);
    for (const name of ['a', 'b', 'c']) expect(limiter.take(name, 0).allowed).toBe(true);
    expect(limiter.take('a', 0).allowed).toBe(false); // a is now the most recent
    expect(limiter.take('d', 0).allowed).toBe(true); // evicts b, the least recent
    expect(limiter.size).toBe(3);
    expect(limiter.take('b', 0).allowed).toBe(true); // a new, full bucket; evicts c
    expect(limiter.take('a', 0).allowed).toBe(false); // a kept its empty bucket
    expect(limiter.take('d', 0).allowed).toBe(false);
    expect(limiter.size).toBe(3);
  });

  it(`holds at most ${rateLimitNamesMax} buckets by default`, () => {
    const limiter = new RateLimiter(limits({}, [1, 1]));
    for (let i = 0; i <= rateLimitNamesMax; i++) limiter.take(`client-${i}`, 0);
    expect(limiter.size).toBe(rateLimitNamesMax);
    expect(limiter.take(`client-${rateLimitNamesMax}`, 0).allowed).toBe(false);
    expect(limiter.take('client-0', 0).allowed).toBe(true); // evicted, so full again
  });
});

describe('rateLimitMetadata', { timeout: testTimeoutMs }, () => {
  it('uses the documented keys', () => {
    expect(rateLimitHeaders).toEqual({
      limit: 'x-ratelimit-limit',
      remaining: 'x-ratelimit-remaining',
      retryAfterMs: 'retry-after-ms',
    });
  });

  it('tells the limit and what remains, and on a refusal when to retry', () => {
    const limiter = new RateLimiter(limits({ app: [4, 2] }));
    expect(rateLimitMetadata(limiter.take('app', 0))).toEqual([
      ['x-ratelimit-limit', '2'],
      ['x-ratelimit-remaining', '1'],
    ]);
    limiter.take('app', 0);
    expect(rateLimitMetadata(limiter.take('app', 0))).toEqual([
      ['x-ratelimit-limit', '2'],
      ['x-ratelimit-remaining', '0'],
      ['retry-after-ms', '250'],
    ]);
    expect(rateLimitMetadata(limiter.take('free', 0))).toEqual([]);
  });
});
