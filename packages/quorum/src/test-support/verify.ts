/**
 * Cheap checks for the simulation invariants: thousands of runs, so no matcher machinery on the
 * hot path. A failure throws with both sides printed, and fast-check shrinks and reports the case.
 */
export function verify(condition: boolean, message: string): void {
  if (!condition) throw new Error(`invariant broken: ${message}`);
}

export function verifyEqual(actual: unknown, expected: unknown, what: string): void {
  if (!deepEqual(actual, expected)) {
    throw new Error(
      `invariant broken: ${what}\n  actual:   ${show(actual)}\n  expected: ${show(expected)}`,
    );
  }
}

function show(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v === undefined ? '<undefined>' : v));
}

/** Structural equality over plain data (objects, arrays, primitives); undefined fields count. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  const recordA = a as Record<string, unknown>;
  const recordB = b as Record<string, unknown>;
  return keysA.every((k) => Object.hasOwn(recordB, k) && deepEqual(recordA[k], recordB[k]));
}
