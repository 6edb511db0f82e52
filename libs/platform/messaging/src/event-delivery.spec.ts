import { DEFAULT_RETRY_POLICY, MAX_TOTAL_RETRY_DELAY_MS, worstCaseRetryDelayMs } from './event-bus.port';
import { resolveRetryPolicy } from './event-delivery';

describe('retry policy bound', () => {
  it('SYN-10 (poison message halts a partition): a policy that could wait more than 45 s in all between the attempts of one event is refused', () => {
    // The send consumer's former policy: 8 attempts up to 60 s apart, about two minutes for one poison send.
    expect(() => resolveRetryPolicy({ maxAttempts: 8, initialDelayMs: 1_000, maxDelayMs: 60_000 })).toThrow(
      /waits up to 123000 ms in all/,
    );
    expect(() => resolveRetryPolicy({ maxAttempts: 100, initialDelayMs: 1_000, maxDelayMs: 1_000 })).toThrow(
      /at most 45000 ms/,
    );
  });

  it('SYN-10: the default policy and the bounded ones are accepted', () => {
    expect(worstCaseRetryDelayMs(DEFAULT_RETRY_POLICY)).toBe(200 + 400 + 800 + 1_600);
    expect(resolveRetryPolicy()).toEqual(DEFAULT_RETRY_POLICY);
    const send = { maxAttempts: 6, initialDelayMs: 1_000, maxDelayMs: 16_000 };
    expect(worstCaseRetryDelayMs(send)).toBeLessThanOrEqual(MAX_TOTAL_RETRY_DELAY_MS);
    expect(resolveRetryPolicy(send)).toEqual(send);
  });
});
