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

/** Per-user moving one-minute window of quota units (15,000 units per user per minute at Google). */
export class GmailQuota {
  private readonly usage = new Map<string, { at: number; units: number }[]>();

  constructor(
    private readonly clock: Clock,
    public unitsPerMinute = 15_000,
  ) {}

  /** Charges the call, or returns when the user may retry without charging anything. */
  consume(user: string, method: GmailMethod): { ok: true } | { ok: false; retryAt: number } {
    const now = this.clock.now();
    const cost = GMAIL_UNIT_COSTS[method];
    const key = user.toLowerCase();
    const window = (this.usage.get(key) ?? []).filter((u) => u.at > now - 60_000);
    const used = window.reduce((sum, u) => sum + u.units, 0);
    if (used + cost > this.unitsPerMinute) {
      // The earliest moment enough units leave the window.
      let freed = 0;
      let retryAt = now + 60_000;
      for (const u of window) {
        freed += u.units;
        if (used - freed + cost <= this.unitsPerMinute) {
          retryAt = u.at + 60_000;
          break;
        }
      }
      this.usage.set(key, window);
      return { ok: false, retryAt };
    }
    window.push({ at: now, units: cost });
    this.usage.set(key, window);
    return { ok: true };
  }

  used(user: string): number {
    const now = this.clock.now();
    return (this.usage.get(user.toLowerCase()) ?? [])
      .filter((u) => u.at > now - 60_000)
      .reduce((s, u) => s + u.units, 0);
  }

  reset(): void {
    this.usage.clear();
  }
}
