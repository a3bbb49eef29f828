import type { QuorumFailure } from './types.js';

interface FailureCounts {
  readonly acked: number;
  readonly needed: number;
  readonly replicas: number;
}

/**
 * A failed put. A write that misses its quorum may still have reached some replicas (Dynamo
 * behaves the same way), so the message says so whenever anything was written or sent.
 */
export function putFailure(
  kind: QuorumFailure['kind'],
  counts: FailureCounts,
  detail: { readonly sent: boolean; readonly tooFewTargets: boolean },
): QuorumFailure {
  const tried = detail.tooFewTargets
    ? `only ${counts.replicas} replicas available`
    : `${counts.replicas} replicas tried`;
  const reach =
    counts.acked > 0 || detail.sent
      ? 'the write may have reached some replicas'
      : 'the write reached no replica';
  const prefix = kind === 'timeout' ? 'put timed out: acked' : 'put acked';
  const message = `${prefix} ${counts.acked} of W=${counts.needed} (${tried}; ${reach})`;
  return { kind, op: 'put', ...counts, message };
}

/** A failed get: fewer than R replicas answered with a readable object. */
export function getFailure(
  kind: QuorumFailure['kind'],
  counts: FailureCounts,
  detail: { readonly failed: number; readonly corrupt: number; readonly tooFewTargets: boolean },
): QuorumFailure {
  const tried = detail.tooFewTargets
    ? `only ${counts.replicas} replicas available`
    : `${counts.replicas} replicas tried, ${detail.failed} failed, ${detail.corrupt} corrupt`;
  const prefix = kind === 'timeout' ? 'get timed out:' : 'get';
  const message = `${prefix} ${counts.acked} of R=${counts.needed} replicas replied (${tried})`;
  return { kind, op: 'get', ...counts, message };
}
