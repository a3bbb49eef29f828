import type { ClusterView } from '../../cluster-view.js';
import { RingstoreError, asRingstoreError, suspectsPeer } from '../../errors.js';
import type { Liveness } from '../../liveness.js';
import type { Metrics } from '../../metrics.js';

export type Op = 'get' | 'put' | 'delete';

/**
 * Whether a failed forward may go to the next replica. A read has no side effect: any
 * UNAVAILABLE or RESOURCE_EXHAUSTED moves on. A write moves on only when the failure proves it
 * was applied nowhere (its `applied` field, never its message), so it is never written twice.
 */
export function mayFailOver(op: Op, e: RingstoreError): boolean {
  if (e.code !== 'unavailable' && e.code !== 'resource-exhausted') return false;
  return op === 'get' || e.failure.applied === 'none';
}

/** Up replicas first, in preference order; the down ones only if every up one failed. */
export function forwardOrder(primaries: readonly string[], isUp: (id: string) => boolean) {
  return [...primaries.filter(isUp), ...primaries.filter((id) => !isUp(id))];
}

/**
 * Forwarding (DESIGN.md section 4): a node asked for a key it does not replicate sends the
 * request to the key's replicas in preference order until one answers, failing over as
 * mayFailOver allows; at most N attempts, within the request's deadline.
 */
export class Forwarder {
  /** Client requests this node forwarded. */
  forwarded = 0;

  constructor(
    private readonly view: ClusterView,
    private readonly liveness: Liveness,
    private readonly metrics: Metrics,
  ) {}

  async forward<T>(
    op: Op,
    partition: number,
    deadlineMs: number,
    send: (nodeId: string, timeoutMs: number) => Promise<T>,
  ): Promise<T> {
    this.metrics.forwarded.inc({ op });
    this.forwarded++;
    let last: RingstoreError | undefined;
    const routable = (id: string): boolean => this.liveness.isRoutable(id);
    for (const nodeId of forwardOrder(this.view.primaries(partition), routable)) {
      const timeoutMs = deadlineMs - Date.now();
      if (timeoutMs <= 0) break;
      try {
        return await send(nodeId, timeoutMs);
      } catch (e) {
        last = asRingstoreError(e);
        if (!mayFailOver(op, last)) throw last;
        if (suspectsPeer(last)) this.liveness.suspect(nodeId, last.message);
      }
    }
    throw (
      last ?? new RingstoreError('deadline-exceeded', 'deadline passed before any replica answered')
    );
  }
}
