import type { QuorumFailure } from './types.js';

interface FailureCounts {
  readonly acked: number;
  readonly needed: number;
  readonly tried: number;
  readonly replicas: number;
}

/**
 * A failed put. A write that misses its quorum after the coordinator wrote may still be on some
 * replicas (Dynamo behaves the same way): `applied` says so, and so does the message. With pending
 * replicas `needed` is W + p, and the message names both parts ("acked 2 of W=2+1 pending").
 */
export function putFailure(
  kind: QuorumFailure['kind'],
  applied: QuorumFailure['applied'],
  counts: FailureCounts,
  detail: { readonly tooFewTargets: boolean; readonly pending: number },
): QuorumFailure {
  const tried = detail.tooFewTargets
    ? `only ${counts.replicas} replicas available`
    : `${counts.tried} replicas tried`;
  const reach =
    applied === 'none'
      ? 'the write reached no replica'
      : 'the write may have reached some replicas';
  const prefix =
    kind === 'timeout'
      ? 'put timed out: acked'
      : kind === 'local-failed'
        ? 'put failed on the coordinator: acked'
        : 'put acked';
  const quorum =
    detail.pending === 0
      ? `W=${counts.needed}`
      : `W=${counts.needed - detail.pending}+${detail.pending} pending`;
  const message = `${prefix} ${counts.acked} of ${quorum} (${tried}; ${reach})`;
  return { kind, op: 'put', applied, ...counts, message };
}

/** A failed get: fewer than R replicas answered with a readable object. Reads apply nothing. */
export function getFailure(
  kind: QuorumFailure['kind'],
  counts: FailureCounts,
  detail: { readonly failed: number; readonly corrupt: number; readonly tooFewTargets: boolean },
): QuorumFailure {
  const tried = detail.tooFewTargets
    ? `only ${counts.replicas} replicas available`
    : `${counts.tried} replicas tried, ${detail.failed} failed, ${detail.corrupt} corrupt`;
  const prefix = kind === 'timeout' ? 'get timed out:' : 'get';
  const message = `${prefix} ${counts.acked} of R=${counts.needed} replicas replied (${tried})`;
  return { kind, op: 'get', applied: 'none', ...counts, message };
}
