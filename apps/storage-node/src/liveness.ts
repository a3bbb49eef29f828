/**
 * What routing asks of failure detection: is this node up right now? Detection changes routing
 * only (fallbacks, hint delivery, which replica to exchange with), never ownership (DESIGN.md
 * section 5). The gossip role implements it over @ringstore/membership's LivenessTable.
 */
export interface Liveness {
  /** Up: phi below the threshold and not suspected since its last heartbeat (what is reported). */
  isUp(nodeId: string): boolean;
  /**
   * Whether a request may be sent to it now (preference lists, forwarding): as isUp, except that
   * a suspected node is tried again after a bounded, doubling wait, before its next heartbeat.
   */
  isRoutable(nodeId: string): boolean;
  /** A request to the node failed or timed out: count it down until it is heard from again. */
  suspect(nodeId: string, reason: string): void;
  /**
   * The node answered a request sent at `sentAtMs` (performance.now()): it was alive after then,
   * which ends a suspicion that began before (Peers reports every answer).
   */
  answered(nodeId: string, sentAtMs: number): void;
}
