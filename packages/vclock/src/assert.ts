/**
 * Programmer errors: a broken invariant means a bug in the caller or in this package, so it
 * crashes and is never caught (operating errors, such as bad bytes from disk or the wire, are
 * DecodeError instead).
 */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
