/**
 * What routing asks of failure detection: is this node up right now? Detection changes routing
 * only (fallbacks, hint delivery, which replica to exchange with), never ownership (DESIGN.md
 * section 5). The gossip role implements it over @ringstore/membership's LivenessTable.
 */
export interface Liveness {
  isUp(nodeId: string): boolean;
  /** A request to the node failed or timed out: count it down until it is heard from again. */
  suspect(nodeId: string, reason: string): void;
}
