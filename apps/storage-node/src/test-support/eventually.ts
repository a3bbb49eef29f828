/** Retries `fn` until it resolves or `timeoutMs` passes (then rethrows its last error). */
export async function eventually<T>(
  fn: () => Promise<T>,
  timeoutMs = 10_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const attemptsMax = Math.ceil(timeoutMs / intervalMs) + 1;
  let last: unknown;
  for (let attempt = 0; attempt < attemptsMax && Date.now() < deadline; attempt++) {
    try {
      return await fn();
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
  throw last instanceof Error ? last : new Error(`eventually: gave up after ${timeoutMs} ms`);
}
