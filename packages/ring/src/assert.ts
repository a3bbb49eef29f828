/**
 * Programmer errors: a broken invariant means a bug in the caller or in this package, so it
 * crashes and is never caught. Operating errors (bad configuration from a file or the wire) are
 * reported by the validate* functions as messages instead.
 */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
