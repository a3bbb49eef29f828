import type { Liveness } from '../liveness.js';

/**
 * A failure detector for unit tests: up unless in `down`; records every suspicion. A node in both
 * `down` and `retrying` is a suspected one whose retry wait has passed: down, but routable.
 */
export class FakeLiveness implements Liveness {
  readonly down = new Set<string>();
  readonly retrying = new Set<string>();
  readonly suspicions: { readonly nodeId: string; readonly reason: string }[] = [];
  readonly answers: string[] = [];

  isUp(nodeId: string): boolean {
    return !this.down.has(nodeId);
  }

  isRoutable(nodeId: string): boolean {
    return this.isUp(nodeId) || this.retrying.has(nodeId);
  }

  suspect(nodeId: string, reason: string): void {
    this.suspicions.push({ nodeId, reason });
  }

  answered(nodeId: string): void {
    this.answers.push(nodeId);
  }
}
