import { status } from '@grpc/grpc-js';
import { RingstoreClientError } from '@ringstore/client';
import { describe, expect, it } from 'vitest';
import { classifyError } from './workloads.js';

describe('classifyError', () => {
  it('calls a write failed only when the error proves it was not applied, or its write never started', () => {
    const refused = new RingstoreClientError({
      code: status.UNAVAILABLE,
      details: 'No connection established',
      notApplied: true,
    });
    const maybe = new RingstoreClientError({
      code: status.UNAVAILABLE,
      details: 'put acked 1 of W=2 (the write may have reached some replicas)',
    });
    const timeout = new RingstoreClientError({
      code: status.DEADLINE_EXCEEDED,
      details: 'deadline',
    });
    const invalid = new RingstoreClientError({
      code: status.INVALID_ARGUMENT,
      details: 'key too long',
    });
    expect(classifyError(refused, true)).toBe('fail');
    expect(classifyError(invalid, true)).toBe('fail');
    expect(classifyError(maybe, true)).toBe('unknown');
    expect(classifyError(timeout, true)).toBe('unknown');
    expect(classifyError(new Error('anything'), true)).toBe('unknown');
    expect(classifyError(timeout, false)).toBe('fail');
  });
});
