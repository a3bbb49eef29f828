/**
 * Programmer errors in the security modules: a broken invariant is a bug in the caller (the node
 * shell) or here, so it crashes and is never caught. Bad operator input (a token file, a flag) is
 * an operating error instead: TokenFileError, RateLimitSpecError.
 */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(`security: ${message}`);
}
