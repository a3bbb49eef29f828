/**
 * One node a request goes to. `hintFor` set means a fallback standing in for that primary replica
 * (sloppy quorum): it stores the write with a hint and its answers count toward W and R, but it is
 * never read-repaired.
 */
export interface Target {
  readonly nodeId: string;
  readonly hintFor: string | undefined;
}

/** What a get needs to know about the objects it reads; quorum never looks inside them. */
export interface ObjectOps<O> {
  /** Join of two replicas' objects: commutative, associative and idempotent (e.g. DVVSet sync). */
  merge(a: O, b: O): O;
  /** True when the two hold the same version, so a replica holding `a` needs no repair to `b`. */
  sameVersion(a: O, b: O): boolean;
}

/**
 * An operating error: the quorum was not met. The numbers explain it: `acked` of `needed`
 * (W or R) answered, out of `replicas` targets.
 */
export interface QuorumFailure {
  readonly kind: 'unavailable' | 'timeout';
  readonly op: 'put' | 'get';
  readonly acked: number;
  readonly needed: number;
  readonly replicas: number;
  readonly message: string;
}

/**
 * The most targets one request may name: N replicas plus fallbacks. N is at most a handful in
 * practice; the bound keeps every per-request loop and map small.
 */
export const targetsMax = 64;
