/** What a get needs to know about the objects it reads; quorum never looks inside them. */
export interface ObjectOps<O> {
  /** Join of two replicas' objects: commutative, associative and idempotent (e.g. DVVSet sync). */
  merge(a: O, b: O): O;
  /** True when the two hold the same version, so a replica holding `a` needs no repair to `b`. */
  sameVersion(a: O, b: O): boolean;
}

/**
 * An operating error: the quorum was not met. Its meaning is in fields, never only in the message
 * (riak's `{w_val_unsatisfied, W, NumW}`): `acked` of `needed` (W or R; for a put during a
 * transfer W + p, p the pending replicas) answered; `tried` targets were asked, of `replicas` in
 * the preference list (plus the pending replicas for a put); `applied` says whether anything may
 * have been written ('none': provably nothing, so a retry cannot duplicate it).
 */
export interface QuorumFailure {
  /** unavailable: too few answered; timeout: the deadline passed; local-failed: the coordinator's own write failed. */
  readonly kind: 'unavailable' | 'timeout' | 'local-failed';
  readonly op: 'put' | 'get';
  readonly applied: 'none' | 'maybe';
  readonly acked: number;
  readonly needed: number;
  readonly tried: number;
  readonly replicas: number;
  /** For people: the same numbers in a sentence ("put acked 1 of W=2 (3 replicas tried; ...)"). */
  readonly message: string;
}

/**
 * The most targets one request may name: N replicas plus fallbacks. N is at most a handful in
 * practice; the bound keeps every per-request loop and map small.
 */
export const targetsMax = 64;
