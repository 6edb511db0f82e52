import {
  DEFAULT_SENDING_CAPS,
  countsTowardSendingCap,
  decideSendingCap,
  sendingCapFor,
  type CappedSend,
  type SendingCaps,
} from './sending-cap.rule';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const caps: SendingCaps = { google: 3, microsoft: 5 };
const gmailIndividual: CappedSend = {
  kind: 'individual',
  mailbox: { provider: 'google', address: 'sam@acme.example' },
};
const outlookBulk: CappedSend = {
  kind: 'bulk',
  mailbox: { provider: 'microsoft', address: 'sam@acme.example' },
};

describe('SND-4 sending cap', () => {
  it('SND-4: defaults are 500 for Gmail and 10,000 for Outlook mailboxes', () => {
    expect(DEFAULT_SENDING_CAPS).toEqual({ google: 500, microsoft: 10_000 });
  });

  it('SND-4: only individual email through a mailbox counts toward the cap (bulk through Outlook does not)', () => {
    expect(countsTowardSendingCap('individual', 'mailbox')).toBe(true);
    expect(countsTowardSendingCap('bulk', 'mailbox')).toBe(false);
    expect(countsTowardSendingCap('workflow', 'mailbox')).toBe(false);
    expect(countsTowardSendingCap('individual', 'location_provider')).toBe(false);
    expect(sendingCapFor(outlookBulk, caps)).toBeNull();
    expect(sendingCapFor({ kind: 'individual', mailbox: null }, caps)).toBeNull();
    expect(sendingCapFor(gmailIndividual, caps)).toBe(3);
  });

  it('SND-4: bulk email through an Outlook mailbox is never refused for the cap, however many sends the mailbox made', () => {
    expect(decideSendingCap(outlookBulk, caps, null, NOW)).toMatchObject({ outcome: 'allow', rule: 'SND-4' });
  });

  it('SND-4: a cap of 0 means no cap: the send is allowed without counting', () => {
    const off = { ...caps, google: 0 };
    expect(sendingCapFor(gmailIndividual, off)).toBeNull();
    const verdict = decideSendingCap(gmailIndividual, off, null, NOW);
    expect(verdict).toMatchObject({ outcome: 'allow' });
    expect(verdict.trace).toContain('no cap');
  });

  it('SND-4: below the cap the send is allowed; at the cap it is refused with the cap, the count and when the next slot opens', () => {
    expect(
      decideSendingCap(gmailIndividual, caps, { sentInWindow: 2, capthMostRecentAt: null }, NOW).outcome,
    ).toBe('allow');
    const refused = decideSendingCap(
      gmailIndividual,
      caps,
      { sentInWindow: 3, capthMostRecentAt: new Date('2026-11-19T13:30:00.000Z') },
      NOW,
    );
    expect(refused).toEqual({
      outcome: 'refuse',
      rule: 'SND-4',
      code: 'sending_cap_reached',
      details: { cap: 3, windowHours: 24, sentInWindow: 3, nextSlotAt: '2026-11-20T13:30:00.000Z' },
      message:
        'Sending cap reached: sam@acme.example has used the Gmail cap of 3 individual emails per 24 hours ' +
        '(3 sent through the platform in the last 24 hours). Nothing was sent. ' +
        'The next email can be sent after 2026-11-20T13:30:00.000Z.',
      trace: 'SND-4: refused, 3 of 3 individual emails sent in the last 24 hours',
    });
  });

  it('SND-4: the reset time is when the cap-th most recent counted send leaves the rolling day, also over the cap (a lowered cap)', () => {
    const refused = decideSendingCap(
      gmailIndividual,
      caps,
      { sentInWindow: 7, capthMostRecentAt: new Date('2026-11-20T08:00:00.000Z') },
      NOW,
    );
    expect(refused.outcome === 'refuse' && refused.details.nextSlotAt).toBe('2026-11-21T08:00:00.000Z');
  });

  it('SND-4: a count is required when a cap applies (a caller that skipped it is a bug, not an allow)', () => {
    expect(() => decideSendingCap(gmailIndividual, caps, null, NOW)).toThrow(/usage is needed/);
  });
});
