/**
 * Retries an assertion until it passes or the timeout elapses, then rethrows its last failure.
 * Used instead of sleeps wherever something happens asynchronously (bus delivery, relays, webhooks).
 */
export async function expectEventually<T>(
  assertion: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  // Generous: on a loaded 2-core CI machine Kafka rebalances and relays can take seconds; a pass returns at once.
  const timeoutMs = options.timeoutMs ?? 20_000;
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
