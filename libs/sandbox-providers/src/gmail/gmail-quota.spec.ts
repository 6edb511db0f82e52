import { ManualClock } from '../shared/clock';
import { GMAIL_UNIT_COSTS, GmailQuota } from './gmail-quota';

describe('Gmail per-user quota', () => {
  it('uses the published unit costs', () => {
    expect(GMAIL_UNIT_COSTS).toMatchObject({
      'messages.send': 100,
      'messages.get': 5,
      'history.list': 2,
      getProfile: 1,
      watch: 100,
    });
  });

  it('refuses a call that would exceed the one-minute window and says when to retry', () => {
    const clock = new ManualClock(0);
    const quota = new GmailQuota(clock, 210);
    expect(quota.consume('u@x', 'messages.send').ok).toBe(true);
    clock.advance(10_000);
    expect(quota.consume('u@x', 'messages.send').ok).toBe(true);
    const refused = quota.consume('u@x', 'messages.send');
    expect(refused).toEqual({ ok: false, retryAt: 60_000 });
    expect(quota.used('u@x')).toBe(200);
    expect(quota.consume('other@x', 'messages.send').ok).toBe(true);
    clock.advance(50_001);
    expect(quota.consume('U@X', 'messages.send').ok).toBe(true);
  });
});
