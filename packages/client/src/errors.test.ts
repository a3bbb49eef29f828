import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { Applied, Failure } from '@ringstore/proto';
import { describe, expect, it } from 'vitest';
import { backoffCapMs, backoffMs, overloadAttemptMsMin, overloadWaitMs } from './backoff.js';
import { mayRetry, retryWaitMs } from './dispatch.js';
import {
  errorOf,
  failureOf,
  failureTrailer,
  fromServiceError,
  notSent,
  OverloadedError,
  PermissionDeniedError,
  RingstoreClientError,
  UnauthenticatedError,
} from './errors.js';
import { FailedNodes } from './failed-nodes.js';

/** A status as grpc-js hands it to the SDK; `trailer` as a node serializes it. */
function serviceError(
  code: status,
  details: string,
  trailer: Failure | Buffer | undefined,
  more: Readonly<Record<string, string>> = {},
): ServiceError {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(more)) metadata.set(key, value);
  if (trailer !== undefined)
    metadata.set(
      failureTrailer,
      Buffer.isBuffer(trailer) ? trailer : Buffer.from(Failure.encode(trailer).finish()),
    );
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), {
    code,
    details,
    metadata,
  });
}

const appliedNone = (acked: number, needed: number, tried: number): Failure => ({
  applied: Applied.APPLIED_NONE,
  acked,
  needed,
  tried,
});
const appliedMaybe = (acked: number, needed: number, tried: number): Failure => ({
  applied: Applied.APPLIED_MAYBE,
  acked,
  needed,
  tried,
});

describe('failureOf', () => {
  it('decodes the trailer a node sends', () => {
    const trailers = serviceError(status.UNAVAILABLE, '', appliedMaybe(1, 2, 3)).metadata;
    expect(failureOf(trailers)).toEqual(appliedMaybe(1, 2, 3));
  });

  it('finds nothing without a trailer or in bytes that do not decode', () => {
    expect(failureOf(new Metadata())).toBeUndefined();
    // Field 1 as length-delimited with no length: Failure.decode throws.
    const garbage = serviceError(status.UNAVAILABLE, '', Buffer.from([0x0a])).metadata;
    expect(failureOf(garbage)).toBeUndefined();
  });
});

describe('fromServiceError', () => {
  it("proves a write not applied by the trailer's APPLIED_NONE, with its numbers", () => {
    const details = 'put acked 0 of W=3 (only 2 replicas up)';
    const { error, nodeUnreachable } = fromServiceError(
      serviceError(status.UNAVAILABLE, details, appliedNone(0, 3, 0)),
      true,
      'n1',
    );
    expect(error).toMatchObject({
      code: 14,
      statusName: 'UNAVAILABLE',
      details,
      notApplied: true,
      acked: 0,
      needed: 3,
      tried: 0,
      nodeId: 'n1',
      attempts: 1,
    });
    // The node answered: it is alive.
    expect(nodeUnreachable).toBe(false);
  });

  it('keeps APPLIED_MAYBE possibly applied, whatever the message says', () => {
    const details = 'put acked 0 of W=3 (the write reached no replica)';
    const { error } = fromServiceError(
      serviceError(status.UNAVAILABLE, details, appliedMaybe(1, 2, 3)),
      true,
      'n1',
    );
    // The numbers are the trailer's, not the message's.
    expect(error).toMatchObject({ notApplied: false, acked: 1, needed: 2, tried: 3, details });
  });

  it.each([
    ['no trailer', undefined],
    ['an undecodable trailer', Buffer.from([0x0a])],
  ])('reads %s as possibly applied, with no numbers parsed from the message', (_, trailer) => {
    const details = 'put acked 0 of W=3 (only 2 replicas available; the write reached no replica)';
    const { error } = fromServiceError(
      serviceError(status.UNAVAILABLE, details, trailer),
      true,
      'n1',
    );
    expect(error).toMatchObject({ notApplied: false, details });
    expect([error.acked, error.needed, error.tried]).toEqual([undefined, undefined, undefined]);
  });

  it('reads APPLIED_UNSPECIFIED as possibly applied', () => {
    const unspecified = { applied: Applied.APPLIED_UNSPECIFIED, acked: 0, needed: 3, tried: 2 };
    const { error } = fromServiceError(
      serviceError(status.UNAVAILABLE, 'the write reached no replica', unspecified),
      true,
      'n1',
    );
    expect(error).toMatchObject({ notApplied: false, acked: 0, needed: 3, tried: 2 });
  });

  it('does not take connection words for proof that nothing was sent', () => {
    const details =
      'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7001.';
    const { error, nodeUnreachable } = fromServiceError(
      serviceError(status.UNAVAILABLE, details, undefined),
      false,
      'n1',
    );
    expect(error).toMatchObject({ notApplied: false, details });
    expect(nodeUnreachable).toBe(true);
  });

  it('gives no numbers for a failure that is not a quorum failure (needed 0)', () => {
    const { error } = fromServiceError(
      serviceError(status.UNAVAILABLE, 'node is shutting down', appliedNone(0, 0, 0)),
      true,
      'n1',
    );
    expect(error).toMatchObject({ notApplied: true });
    expect([error.acked, error.needed, error.tried]).toEqual([undefined, undefined, undefined]);
  });

  it('counts a deadline with no answer as an unreachable node', () => {
    const { error, nodeUnreachable } = fromServiceError(
      serviceError(status.DEADLINE_EXCEEDED, 'Deadline exceeded after 0.3s', undefined),
      false,
      'n1',
    );
    expect(error).toMatchObject({ statusName: 'DEADLINE_EXCEEDED', notApplied: false });
    expect(nodeUnreachable).toBe(true);
  });

  it('names unknown status codes', () => {
    expect(new RingstoreClientError({ code: 99, details: 'x' }).statusName).toBe('STATUS_99');
    expect(new RingstoreClientError({ code: 8, details: 'x' }).message).toBe(
      'RESOURCE_EXHAUSTED: x',
    );
  });
});

describe('fromServiceError: credentials refused', () => {
  it.each([
    [status.UNAUTHENTICATED, UnauthenticatedError, 'UnauthenticatedError'],
    [status.PERMISSION_DENIED, PermissionDeniedError, 'PermissionDeniedError'],
  ])('makes status %i a typed error, not applied, from a live node', (code, type, name) => {
    // Trailers only, no headers (answered false): refused before any work.
    const { error, nodeUnreachable } = fromServiceError(
      serviceError(code, 'no', undefined),
      false,
      'n1',
    );
    expect(error).toBeInstanceOf(type);
    expect(error).toBeInstanceOf(RingstoreClientError);
    expect(error).toMatchObject({ name, code, notApplied: true, nodeId: 'n1', attempts: 1 });
    expect(nodeUnreachable).toBe(false);
    expect(error.withAttempts(3)).toBeInstanceOf(type);
  });

  it('trusts a Failure trailer over the status', () => {
    const { error } = fromServiceError(
      serviceError(status.PERMISSION_DENIED, 'no', appliedMaybe(0, 0, 1)),
      true,
      'n1',
    );
    expect(error).toMatchObject({ notApplied: false });
  });
});

describe('fromServiceError: overload', () => {
  const limits = {
    'retry-after-ms': '250',
    'x-ratelimit-limit': '100',
    'x-ratelimit-remaining': '0',
  };

  it('makes an admission refusal (retry-after-ms) an OverloadedError with its numbers', () => {
    const { error, nodeUnreachable } = fromServiceError(
      serviceError(status.RESOURCE_EXHAUSTED, 'rate limited', undefined, limits),
      false,
      'n1',
    );
    expect(error).toBeInstanceOf(OverloadedError);
    expect(error).toMatchObject({
      name: 'OverloadedError',
      code: status.RESOURCE_EXHAUSTED,
      statusName: 'RESOURCE_EXHAUSTED',
      notApplied: true,
      retryAfterMs: 250,
      rateLimit: 100,
      rateLimitRemaining: 0,
    });
    expect(nodeUnreachable).toBe(false);
    const again = error.withAttempts(2);
    expect(again).toBeInstanceOf(OverloadedError);
    expect(again).toMatchObject({ attempts: 2, retryAfterMs: 250, rateLimit: 100 });
  });

  it('makes an overloaded engine (APPLIED_NONE, no retry-after-ms) an OverloadedError', () => {
    const { error } = fromServiceError(
      serviceError(status.RESOURCE_EXHAUSTED, 'queue full', appliedNone(0, 0, 0)),
      true,
      'n1',
    );
    expect(error).toBeInstanceOf(OverloadedError);
    expect(error).toMatchObject({ notApplied: true, retryAfterMs: undefined });
  });

  it.each([
    ['no trailer at all (grpc-js: message larger than max)', undefined, {}],
    ['APPLIED_MAYBE beside retry-after-ms', appliedMaybe(1, 2, 3), { 'retry-after-ms': '10' }],
    ['a malformed retry-after-ms', undefined, { 'retry-after-ms': '1.5' }],
    ['a negative retry-after-ms', undefined, { 'retry-after-ms': '-1' }],
    ['a retry-after-ms past an hour', undefined, { 'retry-after-ms': '3600001' }],
  ])('keeps RESOURCE_EXHAUSTED with %s possibly applied', (_, trailer, more) => {
    const { error } = fromServiceError(
      serviceError(status.RESOURCE_EXHAUSTED, 'x', trailer, more),
      true,
      'n1',
    );
    expect(error).not.toBeInstanceOf(OverloadedError);
    expect(error).toMatchObject({ code: status.RESOURCE_EXHAUSTED, notApplied: false });
  });

  it('reads no overload numbers from other statuses', () => {
    const { error } = fromServiceError(
      serviceError(status.UNAVAILABLE, 'x', undefined, limits),
      true,
      'n1',
    );
    expect(error).not.toBeInstanceOf(OverloadedError);
    expect(error.fields()).not.toHaveProperty('retryAfterMs');
  });
});

describe('notSent', () => {
  it('is an UNAVAILABLE that proves the write not applied, from an unreachable node', () => {
    const { error, nodeUnreachable } = notSent('n1', 'node n1 is not connected');
    expect(error).toMatchObject({ code: status.UNAVAILABLE, notApplied: true, nodeId: 'n1' });
    expect(nodeUnreachable).toBe(true);
  });
});

describe('mayRetry', () => {
  const error = (code: status, notApplied: boolean): RingstoreClientError =>
    errorOf({ code, details: '', notApplied });

  it('retries reads on UNAVAILABLE and DEADLINE_EXCEEDED only', () => {
    expect(mayRetry('read', error(status.UNAVAILABLE, false))).toBe(true);
    expect(mayRetry('read', error(status.DEADLINE_EXCEEDED, false))).toBe(true);
    expect(mayRetry('read', error(status.INVALID_ARGUMENT, false))).toBe(false);
    expect(mayRetry('read', error(status.RESOURCE_EXHAUSTED, false))).toBe(false);
  });

  it('retries writes only when they were not applied', () => {
    expect(mayRetry('write', error(status.UNAVAILABLE, true))).toBe(true);
    expect(mayRetry('write', error(status.UNAVAILABLE, false))).toBe(false);
    expect(mayRetry('write', error(status.DEADLINE_EXCEEDED, false))).toBe(false);
  });

  it('never retries bad input, though the node proves it applied nothing', () => {
    expect(mayRetry('write', error(status.INVALID_ARGUMENT, true))).toBe(false);
  });

  it('never retries refused credentials', () => {
    for (const code of [status.UNAUTHENTICATED, status.PERMISSION_DENIED]) {
      expect(mayRetry('read', error(code, true))).toBe(false);
      expect(mayRetry('write', error(code, true))).toBe(false);
    }
  });

  it('retries an overload refusal (RESOURCE_EXHAUSTED, not applied), read or write', () => {
    expect(mayRetry('read', error(status.RESOURCE_EXHAUSTED, true))).toBe(true);
    expect(mayRetry('write', error(status.RESOURCE_EXHAUSTED, true))).toBe(true);
    expect(mayRetry('write', error(status.RESOURCE_EXHAUSTED, false))).toBe(false);
  });
});

describe('overloadWaitMs', () => {
  it('waits at least retry-after-ms, plus jitter cut to what the deadline leaves', () => {
    expect(overloadWaitMs(1, 400, 10_000, () => 0)).toBe(400);
    // Jitter up to a quarter of retry-after-ms when that is more than the backoff ceiling.
    expect(overloadWaitMs(1, 400, 10_000, () => 0.999)).toBe(499);
    expect(overloadWaitMs(1, 0, 10_000, () => 0.999)).toBe(9);
    expect(overloadWaitMs(1, 400, 400 + overloadAttemptMsMin + 5, () => 0.999)).toBe(405);
  });

  it('gives up when retry-after-ms would leave the retry less than overloadAttemptMsMin', () => {
    expect(overloadWaitMs(1, 400, 400 + overloadAttemptMsMin, () => 0)).toBe(400);
    expect(overloadWaitMs(1, 400, 400 + overloadAttemptMsMin - 1, () => 0)).toBeUndefined();
    expect(overloadWaitMs(1, 0, overloadAttemptMsMin - 1, () => 0)).toBeUndefined();
  });
});

describe('retryWaitMs', () => {
  it("honours an overloaded node's retry-after-ms, and backs off as usual after the rest", () => {
    const overloaded = errorOf({
      code: status.RESOURCE_EXHAUSTED,
      details: '',
      notApplied: true,
      retryAfterMs: 300,
    });
    expect(retryWaitMs(1, overloaded, 1_000, () => 0)).toBe(300);
    expect(retryWaitMs(1, overloaded, 200, () => 0)).toBeUndefined();
    const unavailable = errorOf({ code: status.UNAVAILABLE, details: '', notApplied: true });
    expect(retryWaitMs(1, unavailable, 1_000, () => 0.999)).toBe(9);
  });
});

describe('backoffMs', () => {
  it('stays within the doubling ceiling, the cap and the remaining deadline', () => {
    expect(backoffMs(1, 1_000, () => 0.999)).toBe(9);
    expect(backoffMs(3, 1_000, () => 0.999)).toBe(39);
    expect(backoffMs(20, 1_000, () => 0.999)).toBe(backoffCapMs - 1);
    expect(backoffMs(20, 5, () => 0.999)).toBe(5);
    expect(backoffMs(2, 1_000, () => 0)).toBe(0);
  });
});

describe('FailedNodes', () => {
  it('orders failed nodes last until the memory expires', () => {
    const failed = new FailedNodes(100, 8);
    failed.remember('a', 1_000);
    expect(failed.order(['a', 'b', 'c'], 1_050)).toEqual(['b', 'c', 'a']);
    expect(failed.order(['a', 'b', 'c'], 1_100)).toEqual(['a', 'b', 'c']);
  });

  it('keeps at most nodesMax entries', () => {
    const failed = new FailedNodes(100, 2);
    failed.remember('a', 0);
    failed.remember('b', 0);
    failed.remember('c', 0);
    expect(['a', 'b', 'c'].map((id) => failed.isFailed(id, 1))).toEqual([false, true, true]);
  });
});
