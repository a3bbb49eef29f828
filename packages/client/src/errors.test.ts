import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { backoffCapMs, backoffMs } from './backoff.js';
import { mayRetry } from './dispatch.js';
import { fromServiceError, parseQuorum, RingstoreClientError } from './errors.js';
import { FailedNodes } from './failed-nodes.js';

function serviceError(code: status, details: string): ServiceError {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), {
    code,
    details,
    metadata: new Metadata(),
  });
}

describe('parseQuorum', () => {
  it.each([
    [
      'put acked 1 of W=2 (3 replicas tried; the write may have reached some replicas)',
      { acked: 1, needed: 2 },
    ],
    [
      'put acked 0 of W=3 (only 2 replicas available; the write reached no replica)',
      { acked: 0, needed: 3 },
    ],
    [
      'put timed out: acked 2 of W=3 (3 replicas tried; the write may have reached some replicas)',
      { acked: 2, needed: 3 },
    ],
    [
      'get 1 of R=2 replicas replied (3 replicas tried, 2 failed, 0 corrupt)',
      { acked: 1, needed: 2 },
    ],
    [
      'get timed out: 0 of R=3 replicas replied (3 replicas tried, 0 failed, 0 corrupt)',
      { acked: 0, needed: 3 },
    ],
  ])('reads %s', (details, expected) => {
    expect(parseQuorum(details)).toEqual(expected);
  });

  it('finds nothing in other messages', () => {
    expect(parseQuorum('node is shutting down')).toBeUndefined();
  });
});

describe('fromServiceError', () => {
  const refused =
    'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7001. Resolution note: ';

  it('proves a write not applied when the connection never carried it', () => {
    const { error, nodeUnreachable } = fromServiceError(
      serviceError(status.UNAVAILABLE, refused),
      false,
      'n1',
    );
    expect(error).toMatchObject({
      code: 14,
      statusName: 'UNAVAILABLE',
      notApplied: true,
      nodeId: 'n1',
      attempts: 1,
    });
    expect(error.details).toBe(
      'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7001.',
    );
    expect(nodeUnreachable).toBe(true);
  });

  it('does not trust connection words relayed by a node that had answered', () => {
    const { error, nodeUnreachable } = fromServiceError(
      serviceError(status.UNAVAILABLE, refused),
      true,
      'n1',
    );
    expect(error.notApplied).toBe(false);
    expect(nodeUnreachable).toBe(false);
  });

  it('treats a dropped connection as possibly applied', () => {
    const { error, nodeUnreachable } = fromServiceError(
      serviceError(status.UNAVAILABLE, 'Connection dropped'),
      false,
      'n1',
    );
    expect(error.notApplied).toBe(false);
    expect(nodeUnreachable).toBe(true);
  });

  it('proves a write not applied by the node\'s own "reached no replica"', () => {
    const details = 'put acked 0 of W=3 (only 2 replicas available; the write reached no replica)';
    const { error, nodeUnreachable } = fromServiceError(
      serviceError(status.UNAVAILABLE, details),
      true,
      'n1',
    );
    expect(error).toMatchObject({ notApplied: true, acked: 0, needed: 3, details });
    expect(nodeUnreachable).toBe(false);
  });

  it('keeps "may have reached some replicas" possibly applied', () => {
    const details =
      'put acked 1 of W=2 (3 replicas tried; the write may have reached some replicas)';
    expect(
      fromServiceError(serviceError(status.UNAVAILABLE, details), true, 'n1').error,
    ).toMatchObject({ notApplied: false, acked: 1, needed: 2 });
  });

  it('counts a deadline with no answer as an unreachable node', () => {
    const { error, nodeUnreachable } = fromServiceError(
      serviceError(status.DEADLINE_EXCEEDED, 'Deadline exceeded after 0.3s'),
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

describe('mayRetry', () => {
  const error = (code: status, notApplied: boolean): RingstoreClientError =>
    new RingstoreClientError({ code, details: '', notApplied });

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
