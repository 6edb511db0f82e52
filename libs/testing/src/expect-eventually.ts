/**
 * Retries an assertion until it passes or the timeout elapses, then rethrows its last failure.
 * Used instead of sleeps wherever something happens asynchronously (bus delivery, relays, webhooks).
 */
export async function expectEventually<T>(
  assertion: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) throw lastError;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
