import { sleep } from '../common/timing';

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * Per-mailbox provider budgets, in this replica: Gmail quota units per minute (token bucket), Graph concurrent
 * requests (semaphore), and a shared "paused until" that makes every caller of a throttled mailbox honour its
 * Retry-After. Budgets are per mailbox, so one throttled mailbox never slows the others.
 */
export class MailboxBudgets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly active = new Map<string, number>();
  private readonly waiters = new Map<string, Array<() => void>>();
  private readonly pausedUntil = new Map<string, number>();

  constructor(
    private readonly options: { gmailUnitsPerMinute: number; graphMaxConcurrent: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Holds every call of this mailbox back until `ms` from now (Retry-After). */
  pause(key: string, ms: number): void {
    const until = this.now() + ms;
    if ((this.pausedUntil.get(key) ?? 0) < until) this.pausedUntil.set(key, until);
  }

  /** How long the mailbox is still paused (0 when it is not). */
  pausedFor(key: string): number {
    return Math.max(0, (this.pausedUntil.get(key) ?? 0) - this.now());
  }

  /** Waits for the mailbox's budget; the returned function gives the slot back (Graph). */
  async acquire(key: string, provider: 'google' | 'microsoft', units: number): Promise<() => void> {
    for (let wait = this.pausedFor(key); wait > 0; wait = this.pausedFor(key)) await sleep(wait);
    if (provider === 'google') {
      await this.takeUnits(key, units);
      return () => undefined;
    }
    return this.enter(key);
  }

  private async takeUnits(key: string, units: number): Promise<void> {
    const capacity = this.options.gmailUnitsPerMinute;
    const perMs = capacity / 60_000;
    for (;;) {
      const now = this.now();
      const bucket = this.buckets.get(key) ?? { tokens: capacity, updatedAt: now };
      bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.updatedAt) * perMs);
      bucket.updatedAt = now;
      this.buckets.set(key, bucket);
      if (bucket.tokens >= units) {
        bucket.tokens -= units;
        return;
      }
      await sleep(Math.ceil((units - bucket.tokens) / perMs));
    }
  }

  private async enter(key: string): Promise<() => void> {
    const limit = this.options.graphMaxConcurrent;
    while ((this.active.get(key) ?? 0) >= limit) {
      await new Promise<void>((resolve) => {
        const list = this.waiters.get(key) ?? [];
        list.push(resolve);
        this.waiters.set(key, list);
      });
    }
    this.active.set(key, (this.active.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.active.get(key) ?? 1) - 1;
      if (left <= 0) this.active.delete(key);
      else this.active.set(key, left);
      const next = this.waiters.get(key)?.shift();
      if (next) next();
      if (this.waiters.get(key)?.length === 0) this.waiters.delete(key);
    };
  }
}
