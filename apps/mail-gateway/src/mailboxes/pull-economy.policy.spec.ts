import type { MailboxEntity } from './mailbox.entity';
import { healthSignatureOf, quietSuccessAllowed, requestedHistoryOf } from './pull-economy.policy';

const HEARTBEAT = 300;
const now = Date.parse('2026-12-06T12:00:00Z');

function healthy(over: Partial<MailboxEntity> = {}): MailboxEntity {
  const m = {
    stage: 'watching',
    failures: 0,
    backoffUntil: null,
    lastErrorCode: null,
    lastErrorAt: null,
    recovery: null,
    renewalFailures: 0,
    healthSignature: 'watching|',
    healthPublishedAt: new Date(now - 60_000),
    ...over,
  };
  return m as MailboxEntity;
}

describe('pull economy (issue 16)', () => {
  it('issue 16: only a Gmail push (no lifecycle event) says which history it asks a pull for', () => {
    expect(requestedHistoryOf({ provider: 'google', historyId: '42' })).toBe('42');
    expect(requestedHistoryOf({ provider: 'microsoft', historyId: '42' })).toBeUndefined();
    expect(
      requestedHistoryOf({ provider: 'google', historyId: '42', lifecycleEvent: 'missed' }),
    ).toBeUndefined();
  });

  it('issue 16: a round of nothing is recorded in one statement only for a healthy mailbox with no health event due', () => {
    expect(quietSuccessAllowed(healthy(), now, HEARTBEAT)).toBe(true);
    expect(quietSuccessAllowed(healthy({ stage: 'catching_up' }), now, HEARTBEAT)).toBe(false);
    expect(quietSuccessAllowed(healthy({ failures: 1 }), now, HEARTBEAT)).toBe(false);
    expect(quietSuccessAllowed(healthy({ backoffUntil: new Date(now) }), now, HEARTBEAT)).toBe(false);
    expect(quietSuccessAllowed(healthy({ lastErrorCode: 'temporary' }), now, HEARTBEAT)).toBe(false);
    expect(quietSuccessAllowed(healthy({ recovery: { labelIndex: 0 } }), now, HEARTBEAT)).toBe(false);
  });

  it('issue 16 / CON-2: a due heartbeat or a changed health signature takes the full record (the event is sent)', () => {
    const stale = new Date(now - (HEARTBEAT + 1) * 1000);
    expect(quietSuccessAllowed(healthy({ healthPublishedAt: stale }), now, HEARTBEAT)).toBe(false);
    expect(quietSuccessAllowed(healthy({ healthPublishedAt: null }), now, HEARTBEAT)).toBe(false);
    expect(quietSuccessAllowed(healthy({ healthSignature: 'error|temporary' }), now, HEARTBEAT)).toBe(false);
    // CON-7: failing renewals are part of the signature.
    expect(quietSuccessAllowed(healthy({ renewalFailures: 2 }), now, HEARTBEAT)).toBe(false);
    expect(healthSignatureOf(healthy({ renewalFailures: 2 }), 'watching')).toBe('watching||r2');
  });
});
