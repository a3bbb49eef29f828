import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { Applied, Failure } from '@ringstore/proto';
import type { QuorumFailure } from '@ringstore/quorum';
import { StorageError, type StorageErrorCode } from '@ringstore/storage';
import { describe, expect, it } from 'vitest';
import {
  RingstoreError,
  asRingstoreError,
  failureTrailer,
  fromErrorReply,
  grpcCodeOf,
  quorumError,
  refused,
  suspectsPeer,
  toErrorReply,
  toServiceError,
  type ErrorCode,
  type FailureDetail,
} from './errors.js';

const codes: ErrorCode[] = [
  'invalid-argument',
  'unavailable',
  'deadline-exceeded',
  'resource-exhausted',
  'failed-precondition',
  'cancelled',
  'internal',
];
const nothing = { acked: 0, needed: 0, tried: 0 };

function quorumFailure(overrides: Partial<QuorumFailure>): QuorumFailure {
  return {
    kind: 'unavailable',
    op: 'put',
    applied: 'maybe',
    acked: 1,
    needed: 2,
    tried: 3,
    replicas: 3,
    message: 'put acked 1 of W=2 (3 replicas tried; the write may have reached some replicas)',
    ...overrides,
  };
}

function serviceError(code: status, details: string): ServiceError {
  return Object.assign(new Error(`${code} ${details}`), {
    code,
    details,
    metadata: new Metadata(),
  });
}

const notStale = { ringStale: false, ringTerm: 0n, ringVersion: 0n };

describe('RingstoreError', () => {
  it("says 'none' by default only for invalid input, refused before anything ran", () => {
    expect(new RingstoreError('invalid-argument', 'bad key').failure).toEqual({
      applied: 'none',
      ...nothing,
    });
    for (const code of codes.filter((c) => c !== 'invalid-argument'))
      expect(new RingstoreError(code, 'x').failure.applied, code).toBe('maybe');
  });

  it('keeps a failure it is given, and refused() proves nothing was applied', () => {
    const detail: FailureDetail = { applied: 'none', acked: 1, needed: 2, tried: 2 };
    expect(new RingstoreError('unavailable', 'x', detail).failure).toBe(detail);
    const e = refused('unavailable', 'shutting down');
    expect([e.code, e.message, e.failure]).toEqual([
      'unavailable',
      'shutting down',
      { applied: 'none', ...nothing },
    ]);
  });
});

describe('quorumError', () => {
  it("maps a quorum failure's kind to a code and keeps its numbers and message", () => {
    const unmet = quorumFailure({});
    const e = quorumError(unmet);
    expect([e.code, e.message]).toEqual(['unavailable', unmet.message]);
    expect(e.failure).toEqual({ applied: 'maybe', acked: 1, needed: 2, tried: 3 });
    const late = quorumError(quorumFailure({ kind: 'timeout', op: 'get', applied: 'none' }));
    expect([late.code, late.failure.applied]).toEqual(['deadline-exceeded', 'none']);
  });

  it("gives a failed local write the storage error's code, with the machine's detail", () => {
    const local = quorumFailure({ kind: 'local-failed', applied: 'none', acked: 0, tried: 1 });
    const overloaded = quorumError(local, new StorageError('overloaded', 'queue full'));
    expect(overloaded.code).toBe('resource-exhausted');
    expect(overloaded.failure).toEqual({ applied: 'none', acked: 0, needed: 2, tried: 1 });
    expect(quorumError(local, new StorageError('closed', 'closing')).code).toBe('unavailable');
    expect(quorumError(local).code).toBe('unavailable');
  });
});

describe('asRingstoreError', () => {
  it('returns a RingstoreError as it is', () => {
    const e = new RingstoreError('cancelled', 'x');
    expect(asRingstoreError(e)).toBe(e);
  });

  it('maps storage errors by code, never to internal for an operating error', () => {
    const expected: Record<StorageErrorCode, [ErrorCode, 'none' | 'maybe']> = {
      overloaded: ['resource-exhausted', 'none'],
      closed: ['unavailable', 'none'],
      io: ['unavailable', 'none'],
      disk_full: ['resource-exhausted', 'none'],
      object_too_large: ['invalid-argument', 'none'],
      schema: ['failed-precondition', 'none'],
      pragma_refused: ['failed-precondition', 'none'],
      reserved_meta_name: ['internal', 'none'],
    };
    for (const [storageCode, [code, applied]] of Object.entries(expected)) {
      const e = asRingstoreError(
        new StorageError(storageCode as StorageErrorCode, 'engine said no'),
      );
      expect([e.code, e.failure.applied, e.message], storageCode).toEqual([
        code,
        applied,
        'engine said no',
      ]);
    }
  });

  it('maps a grpc-js error by its status, with its details as the message', () => {
    const e = asRingstoreError(serviceError(status.RESOURCE_EXHAUSTED, 'link full'));
    expect([e.code, e.message]).toEqual(['resource-exhausted', 'link full']);
    expect(asRingstoreError(serviceError(status.UNAVAILABLE, 'gone')).code).toBe('unavailable');
    expect(asRingstoreError(serviceError(status.NOT_FOUND, 'no such method')).code).toBe(
      'internal',
    );
  });

  it('treats anything else as a bug: internal, maybe applied', () => {
    const e = asRingstoreError(new TypeError('undefined is not a function'));
    expect([e.code, e.message, e.failure.applied]).toEqual([
      'internal',
      'undefined is not a function',
      'maybe',
    ]);
    expect(asRingstoreError('thrown string').message).toBe('thrown string');
  });
});

describe('toServiceError', () => {
  it('sends the status, the message, and the failure in the ringstore-failure-bin trailer', () => {
    const detail: FailureDetail = { applied: 'maybe', acked: 1, needed: 2, tried: 3 };
    const sent = toServiceError(new RingstoreError('unavailable', 'put acked 1 of W=2', detail));
    expect([sent.code, sent.details]).toEqual([status.UNAVAILABLE, 'put acked 1 of W=2']);
    const [trailer, ...more] = sent.metadata?.get(failureTrailer) ?? [];
    expect(more).toEqual([]);
    expect(Failure.decode(trailer as Buffer)).toEqual({
      applied: Applied.APPLIED_MAYBE,
      acked: 1,
      needed: 2,
      tried: 3,
    });
  });

  it('sends an overloaded engine as RESOURCE_EXHAUSTED, applied none', () => {
    const sent = toServiceError(new StorageError('overloaded', 'queue full'));
    expect(sent.code).toBe(status.RESOURCE_EXHAUSTED);
    const trailer = sent.metadata?.get(failureTrailer)[0] as Buffer;
    expect(Failure.decode(trailer).applied).toBe(Applied.APPLIED_NONE);
  });
});

describe('toErrorReply and fromErrorReply', () => {
  it('keep the code and the failure detail across the peer link, naming the peer', () => {
    for (const code of codes) {
      for (const applied of ['none', 'maybe'] as const) {
        const detail: FailureDetail = { applied, acked: 2, needed: 3, tried: 4 };
        const back = fromErrorReply('n2', toErrorReply(new RingstoreError(code, 'why', detail)));
        expect([back.code, back.message, back.failure], `${code} ${applied}`).toEqual([
          code,
          'n2: why',
          detail,
        ]);
        expect(toErrorReply(back).code).toBe(grpcCodeOf(code));
      }
    }
  });

  it('reads a missing failure by its code, an unspecified applied as maybe', () => {
    const bare = fromErrorReply('n3', {
      code: status.UNAVAILABLE,
      message: 'x',
      failure: undefined,
      ...notStale,
    });
    expect(bare.failure.applied).toBe('maybe');
    const unspecified = fromErrorReply('n3', {
      code: status.UNAVAILABLE,
      message: 'x',
      failure: { applied: Applied.APPLIED_UNSPECIFIED, acked: 0, needed: 0, tried: 0 },
      ...notStale,
    });
    expect(unspecified.failure.applied).toBe('maybe');
  });
});

describe('suspectsPeer', () => {
  it('suspects a peer that gave no answer, but not one that answered, nor a late timer of ours', () => {
    const timeout = new RingstoreError('deadline-exceeded', 'n2 did not answer in time');
    expect(suspectsPeer(timeout)).toBe(true);
    expect(suspectsPeer(new Error('link broke'))).toBe(true);
    const answered = fromErrorReply('n2', toErrorReply(refused('unavailable', 'quorum')));
    expect(suspectsPeer(answered)).toBe(false);
    const paused = new RingstoreError('deadline-exceeded', 'n2 did not answer in time');
    paused.localPause = true;
    expect(suspectsPeer(paused)).toBe(false);
  });
});
