/**
 * Programmer errors: a broken invariant means a bug in the caller (the node shell) or in this
 * package, so it crashes and is never caught. Operating errors (replicas down, quorum unmet,
 * deadline passed) are QuorumFailure values instead.
 */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(`@ringstore/quorum: ${message}`);
}
