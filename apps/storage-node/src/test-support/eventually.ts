/**
 * Retries `fn` until it resolves or `timeoutMs` passes (then rethrows its last error). With
 * `retryable`, an error it does not accept is rethrown at once: only the expected transient
 * failure is waited out, anything else fails the test.
 */
export async function eventually<T>(
  fn: () => Promise<T>,
  timeoutMs = 10_000,
  intervalMs = 100,
  retryable: (e: unknown) => boolean = () => true,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const attemptsMax = Math.ceil(timeoutMs / intervalMs) + 1;
  let last: unknown;
  for (let attempt = 0; attempt < attemptsMax && Date.now() < deadline; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!retryable(e)) throw e;
      last = e;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
  throw last instanceof Error ? last : new Error(`eventually: gave up after ${timeoutMs} ms`);
}
