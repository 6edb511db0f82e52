import { CrmSend, DeliveredMessage, Recorded, RecordedCrmMessage, reconcile, summaryLine } from './reconcile';

const at = '2026-12-01T10:00:00.000Z';
const msg = (providerId: string, kind: DeliveredMessage['kind'], variant = 'plain'): DeliveredMessage => ({
  providerId,
  userId: 'usr_g',
  kind,
  variant,
  subject: `soak ${providerId}`,
  deliveredAt: at,
});
const crm = (id: string, providerMessageId: string | null, extra: Partial<RecordedCrmMessage> = {}) => ({
  id,
  source: 'mailbox',
  status: 'received',
  subject: `soak ${id}`,
  providerMessageId,
  providerName: providerMessageId ? 'google' : null,
  failure: null,
  ...extra,
});
const send = (marker: string, crmMessageId: string | null = `m-${marker}`): CrmSend => ({
  marker,
  userId: 'usr_g',
  idempotencyKey: `key-${marker}`,
  crmMessageId,
});
const recorded = (r: Partial<Recorded>): Recorded => ({
  crmMessages: [],
  syncEvents: [],
  decisions: new Map(),
  sentCopies: new Map(),
  ...r,
});

describe('soak reconciliation (SYN-10: every message accounted for, by provider id)', () => {
  it('SYN-10: a contact message in the CRM, one in sync-events and a decided stranger are accounted', () => {
    const r = reconcile(
      [msg('p1', 'contact'), msg('p2', 'contact', 'nul-subject'), msg('p3', 'stranger')],
      [],
      recorded({
        crmMessages: [crm('c1', 'p1')],
        syncEvents: [
          {
            kind: 'message_skipped',
            reason: 'quarantined',
            userId: 'usr_g',
            providerMessageId: 'p2',
            messageId: null,
            rangeFrom: null,
            rangeTo: null,
          },
        ],
        decisions: new Map([['p3', ['skipped']]]),
      }),
    );
    expect(r).toMatchObject({ delivered: 3, accounted: 3, lost: [], duplicated: [], doubleSent: [] });
    expect(r.accountedBy).toEqual({ crm: 1, 'sync-event': 1, decision: 1 });
  });

  it('SYN-10 (poison, kill -9, storm, reused Message-ID loss paths): a contact message with no CRM record is lost even when a decision exists', () => {
    const r = reconcile(
      [msg('p1', 'contact', 'reused-message-id'), msg('p2', 'contact'), msg('p3', 'stranger')],
      [],
      recorded({ decisions: new Map([['p1', ['delivered']]]) }),
    );
    expect(r.lost.map((f) => f.id)).toEqual(['p1', 'p2', 'p3']);
    expect(r.lost[0].what).toContain('decided (delivered) but neither in the CRM nor in sync-events');
    expect(r.lost[1].what).toContain('no outcome anywhere');
    expect(summaryLine(r)).toBe('soak: 3 delivered, 0 accounted, 3 lost, 0 duplicated, 0 double-sent');
  });

  it('CON-5: a sync gap of the same user covering the delivery time accounts the message; another user’s does not', () => {
    const gap = {
      kind: 'sync_gap',
      reason: 'history_expired',
      providerMessageId: null,
      messageId: null,
      rangeFrom: '2026-12-01T09:00:00.000Z',
      rangeTo: '2026-12-01T11:00:00.000Z',
    };
    const mine = reconcile(
      [msg('p1', 'contact')],
      [],
      recorded({ syncEvents: [{ ...gap, userId: 'usr_g' }] }),
    );
    const other = reconcile(
      [msg('p1', 'contact')],
      [],
      recorded({ syncEvents: [{ ...gap, userId: 'usr_o' }] }),
    );
    expect(mine.accountedBy).toEqual({ 'sync-gap': 1 });
    expect(other.lost).toHaveLength(1);
  });

  it('SYN-5: two CRM messages for one provider message are a duplicate', () => {
    const r = reconcile(
      [msg('p1', 'contact')],
      [],
      recorded({ crmMessages: [crm('c1', 'p1'), crm('c2', 'p1')] }),
    );
    expect(r.duplicated).toEqual([{ id: 'p1', what: expect.stringContaining('2 CRM messages') }]);
    expect(r.lost).toEqual([]);
  });

  it('SND-6: a CRM send is in the Sent folder exactly once; twice is double-sent, never is lost unless it failed with a reason', () => {
    const r = reconcile(
      [],
      [send('s1'), send('s2'), send('s3'), send('s4'), send('s5', null)],
      recorded({
        crmMessages: [
          crm('m-s1', 'g1', { source: 'crm', status: 'sent', subject: 'x s1' }),
          crm('m-s2', 'g2', { source: 'crm', status: 'sent', subject: 'x s2' }),
          crm('m-s3', null, { source: 'crm', status: 'pending', subject: 'x s3' }),
          crm('m-s4', null, {
            source: 'crm',
            status: 'failed',
            subject: 'x s4',
            failure: { code: 'reauth_required', message: 'the mailbox needs re-consent' },
          }),
        ],
        sentCopies: new Map([
          ['s1', 1],
          ['s2', 2],
        ]),
      }),
    );
    expect(r.doubleSent.map((f) => f.id)).toEqual(['s2']);
    // s3 is pending with no provider: not sent by anyone yet.
    expect(r.lost.map((f) => f.id)).toEqual(['s3']);
    expect(r.accountedBy).toEqual({ 'sent-once': 1, 'send-failed-with-reason': 1 });
    // s5 never got an answer and left no trace: nothing is owed for it.
    expect(r.delivered).toBe(4);
  });

  it('SND-1: a CRM send the location provider sent (no active connection then) is accounted without a Sent copy', () => {
    const viaLocation = crm('m-s1', null, { source: 'crm', status: 'sent', subject: 'x s1' });
    const viaMailbox = crm('m-s2', 'g2', { source: 'crm', status: 'sent', subject: 'x s2' });
    const r = reconcile([], [send('s1'), send('s2')], recorded({ crmMessages: [viaLocation, viaMailbox] }));
    expect(r.accountedBy).toEqual({ 'sent-by-location-provider': 1 });
    expect(r.lost.map((f) => f.id)).toEqual(['s2']);
  });

  it('SND-6: one send recorded twice in the CRM (a retried key that made a second message) is a duplicate', () => {
    const r = reconcile(
      [],
      [send('s1')],
      recorded({
        crmMessages: [
          crm('a', null, { source: 'crm', status: 'sent', subject: 'x s1' }),
          crm('b', null, { source: 'crm', status: 'sent', subject: 'x s1' }),
        ],
        sentCopies: new Map([['s1', 1]]),
      }),
    );
    expect(r.duplicated.map((f) => f.id)).toEqual(['s1']);
  });
});
