/**
 * Nodes that could not be reached recently, tried last until the memory expires. Bounded: at
 * most `nodesMax` entries (the ring's size); expired entries are dropped when met.
 */
export class FailedNodes {
  private readonly untilMs = new Map<string, number>();

  constructor(
    private readonly memoryMs: number,
    private readonly nodesMax: number,
  ) {}

  remember(nodeId: string, nowMs: number): void {
    this.untilMs.delete(nodeId);
    if (this.untilMs.size >= this.nodesMax) {
      const oldest = this.untilMs.keys().next();
      if (oldest.done !== true) this.untilMs.delete(oldest.value);
    }
    this.untilMs.set(nodeId, nowMs + this.memoryMs);
  }

  forget(nodeId: string): void {
    this.untilMs.delete(nodeId);
  }

  isFailed(nodeId: string, nowMs: number): boolean {
    const until = this.untilMs.get(nodeId);
    if (until === undefined) return false;
    if (until > nowMs) return true;
    this.untilMs.delete(nodeId);
    return false;
  }

  /** `nodeIds` with the recently failed ones moved to the end, each group in its given order. */
  order(nodeIds: readonly string[], nowMs: number): string[] {
    const live: string[] = [];
    const failed: string[] = [];
    for (const id of nodeIds) (this.isFailed(id, nowMs) ? failed : live).push(id);
    return live.concat(failed);
  }
}
