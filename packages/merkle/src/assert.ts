/** Programmer errors: a broken invariant crashes; callers never catch this. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`@ringstore/merkle assertion failed: ${message}`);
}
