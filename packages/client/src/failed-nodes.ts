/**
 * Nodes that could not be reached recently, tried last. After `memoryMs` a node is not simply
 * trusted again (a paused process keeps its TCP connections, so the next request would wait out
 * its whole deadline again): it stays last until a probe answers, one probe at a time per node,
 * a new one at most every `memoryMs` while they fail. A request that succeeds clears it at once.
 * Bounded: at most `nodesMax` entries (the ring's size); the oldest is dropped first.
 */
export type Probe = (nodeId: string) => Promise<boolean>;

export class FailedNodes {
  private readonly untilMs = new Map<string, number>();
  private readonly probing = new Set<string>();
  /** Probes sent, and those the node answered (for tests and stats). */
  readonly probes = { sent: 0, answered: 0 };

  constructor(
    private readonly memoryMs: number,
    private readonly nodesMax: number,
    /** Absent: a node is trusted again when its memory expires. */
    private readonly probe?: Probe,
    private readonly now: () => number = Date.now,
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
    if (this.probe === undefined) {
      this.untilMs.delete(nodeId);
      return false;
    }
    this.startProbe(nodeId, this.probe);
    return true;
  }

  /** `nodeIds` with the recently failed ones moved to the end, each group in its given order. */
  order(nodeIds: readonly string[], nowMs: number): string[] {
    const live: string[] = [];
    const failed: string[] = [];
    for (const id of nodeIds) (this.isFailed(id, nowMs) ? failed : live).push(id);
    return live.concat(failed);
  }

  private startProbe(nodeId: string, probe: Probe): void {
    if (this.probing.has(nodeId)) return;
    this.probing.add(nodeId);
    this.probes.sent++;
    // Until the probe answers the node keeps its place at the end; the next probe waits memoryMs.
    this.untilMs.set(nodeId, this.now() + this.memoryMs);
    probe(nodeId)
      .catch(() => false)
      .then((answered) => {
        this.probing.delete(nodeId);
        if (!answered) return;
        this.probes.answered++;
        this.untilMs.delete(nodeId);
      })
      .catch(() => undefined);
  }
}
