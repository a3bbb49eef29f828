import type { Liveness } from '../liveness.js';

/** A failure detector for unit tests: up unless in `down`; records every suspicion. */
export class FakeLiveness implements Liveness {
  readonly down = new Set<string>();
  readonly suspicions: { readonly nodeId: string; readonly reason: string }[] = [];

  isUp(nodeId: string): boolean {
    return !this.down.has(nodeId);
  }

  suspect(nodeId: string, reason: string): void {
    this.suspicions.push({ nodeId, reason });
  }
}
