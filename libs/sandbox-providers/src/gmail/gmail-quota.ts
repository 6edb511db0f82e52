import type { Clock } from '../shared/clock';

/** Quota units per method (developers.google.com/workspace/gmail/api/reference/quota). */
export const GMAIL_UNIT_COSTS = {
  getProfile: 1,
  'history.list': 2,
  'labels.list': 1,
  'labels.get': 1,
  'messages.get': 5,
  'messages.list': 5,
  'messages.attachments.get': 5,
  'messages.modify': 5,
  'messages.trash': 5,
  'messages.untrash': 5,
  'messages.delete': 10,
  'messages.insert': 25,
  'messages.import': 25,
  'threads.get': 10,
  'threads.list': 10,
  'threads.modify': 10,
  'drafts.create': 10,
  'drafts.send': 100,
  'messages.send': 100,
  watch: 100,
  stop: 50,
  'messages.batchModify': 50,
  'settings.sendAs.list': 1,
  'settings.sendAs.get': 1,
} as const;

export type GmailMethod = keyof typeof GMAIL_UNIT_COSTS;

interface UserWindow {
  /** Charges in time order; `head` is the first still inside the window (a queue without shifting). */
  entries: { at: number; units: number }[];
  head: number;
  used: number;
}

/**
 * Per-user moving one-minute window of quota units (15,000 units per user per minute at Google). Each call costs
 * O(1) amortised: expired charges leave from the front of a queue and a running sum is kept (a scan of the whole
 * window per call made the emulator slower than the gateway it serves).
 */
export class GmailQuota {
  private readonly usage = new Map<string, UserWindow>();

  constructor(
    private readonly clock: Clock,
    public unitsPerMinute = 15_000,
  ) {}

  private window(user: string, now: number): UserWindow {
    const key = user.toLowerCase();
    let w = this.usage.get(key);
    if (!w) {
      w = { entries: [], head: 0, used: 0 };
      this.usage.set(key, w);
    }
    while (w.head < w.entries.length && w.entries[w.head].at <= now - 60_000) {
      w.used -= w.entries[w.head].units;
      w.head++;
    }
    if (w.head > 1024 && w.head * 2 > w.entries.length) {
      w.entries = w.entries.slice(w.head);
      w.head = 0;
    }
    return w;
  }

  /** Charges the call, or returns when the user may retry without charging anything. */
  consume(user: string, method: GmailMethod): { ok: true } | { ok: false; retryAt: number } {
    const now = this.clock.now();
    const cost = GMAIL_UNIT_COSTS[method];
    const w = this.window(user, now);
    if (w.used + cost > this.unitsPerMinute) {
      // The earliest moment enough units leave the window.
      let freed = 0;
      let retryAt = now + 60_000;
      for (let i = w.head; i < w.entries.length; i++) {
        freed += w.entries[i].units;
        if (w.used - freed + cost <= this.unitsPerMinute) {
          retryAt = w.entries[i].at + 60_000;
          break;
        }
      }
      return { ok: false, retryAt };
    }
    const last = w.entries[w.entries.length - 1];
    if (last && last.at === now && w.head < w.entries.length) last.units += cost;
    else w.entries.push({ at: now, units: cost });
    w.used += cost;
    return { ok: true };
  }

  used(user: string): number {
    return this.window(user, this.clock.now()).used;
  }

  reset(): void {
    this.usage.clear();
  }
}
