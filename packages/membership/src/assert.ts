/**
 * Programmer errors: a broken invariant means a bug in the caller or in this package, so it
 * crashes and is never caught. Operating errors (bad input from the wire) are reported as typed
 * values by the check* functions instead.
 */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(`@ringstore/membership: ${message}`);
}
