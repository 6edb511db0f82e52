import type { Clock } from '../shared/clock';
import type { HttpError } from '../shared/http-kit';
import { graphErrors } from './graph-errors';

/** Outlook's per-app-and-mailbox limits: 4 concurrent requests and 10,000 requests per 10 minutes. */
export class GraphThrottle {
  concurrencyLimit = 4;
  requestsPerWindow = 10_000;
  readonly windowMs = 10 * 60_000;
  private readonly active = new Map<string, number>();
  /** Admission times per mailbox in order, `head` the first inside the window (a queue without shifting). */
  private readonly recent = new Map<string, { times: number[]; head: number }>();

  constructor(private readonly clock: Clock) {}

  /** Admits a request or says why not; the caller must `release()` when the response is done. */
  enter(mailbox: string): { ok: true; release: () => void } | { ok: false; error: HttpError } {
    const key = mailbox.toLowerCase();
    const now = this.clock.now();
    // O(1) amortised per request: expired times leave from the front, no scan of the whole window.
    let window = this.recent.get(key);
    if (!window) {
      window = { times: [], head: 0 };
      this.recent.set(key, window);
    }
    while (window.head < window.times.length && window.times[window.head] <= now - this.windowMs)
      window.head++;
    if (window.head > 1024 && window.head * 2 > window.times.length) {
      window.times = window.times.slice(window.head);
      window.head = 0;
    }
    if (window.times.length - window.head >= this.requestsPerWindow) {
      return {
        ok: false,
        error: graphErrors.throttled(
          Math.max(1, Math.ceil((window.times[window.head] + this.windowMs - now) / 1000)),
        ),
      };
    }
    const active = this.active.get(key) ?? 0;
    if (active >= this.concurrencyLimit) return { ok: false, error: graphErrors.concurrency(1) };
    window.times.push(now);
    this.active.set(key, active + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.active.set(key, Math.max(0, (this.active.get(key) ?? 1) - 1));
      },
    };
  }

  reset(): void {
    this.active.clear();
    this.recent.clear();
  }
}
