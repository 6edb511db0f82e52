import { RateLimiter } from './rate-limiter';

describe('RateLimiter (a token bucket per key)', () => {
  it('allows the configured requests per minute, then says when the next one is allowed', () => {
    let now = 0;
    const limiter = new RateLimiter(60, () => now);
    for (let i = 0; i < 60; i += 1) expect(limiter.take('a')).toEqual({ allowed: true });
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    // Other keys have their own bucket.
    expect(limiter.take('b')).toEqual({ allowed: true });
    now += 1000;
    expect(limiter.take('a')).toEqual({ allowed: true });
    expect(limiter.take('a').allowed).toBe(false);
  });

  it('rounds Retry-After up to whole seconds and never below one', () => {
    let now = 0;
    const limiter = new RateLimiter(2, () => now);
    limiter.take('k');
    limiter.take('k');
    expect(limiter.take('k')).toEqual({ allowed: false, retryAfterSeconds: 30 });
    now += 29_500;
    expect(limiter.take('k')).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  it('is off at 0 per minute', () => {
    const limiter = new RateLimiter(0);
    for (let i = 0; i < 1000; i += 1) expect(limiter.take('k').allowed).toBe(true);
  });

  it('keeps memory bounded by dropping idle buckets', () => {
    let now = 0;
    const limiter = new RateLimiter(10, () => now, 2);
    limiter.take('a');
    limiter.take('b');
    now += 60_000;
    limiter.take('c');
    limiter.take('a');
    // 'a' was dropped while idle and starts from a full bucket again.
    for (let i = 0; i < 9; i += 1) expect(limiter.take('a').allowed).toBe(true);
  });
});
