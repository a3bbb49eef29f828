/**
 * Programmer errors: a broken invariant means a bug in the caller or in this package, so it
 * crashes and is never caught (operating errors, such as bad bytes from disk or the wire, are
 * DecodeError instead).
 */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

/**
 * Throws AssertionError unless `condition` holds. A message that interpolates values is passed as
 * a function, so hot paths (every update, every encode) build no string when all is well.
 */
export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new AssertionError(typeof message === 'string' ? message : message());
}
