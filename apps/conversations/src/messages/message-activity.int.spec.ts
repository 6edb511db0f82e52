import {
  connectionConnectedV1,
  conversationIdFor,
  messageSyncedV1,
  sendSucceededV1,
  type EventEnvelope,
} from '@mailbridge/contracts';
import { expectEventually } from '@mailbridge/testing';
import { connection, synced } from '../testing/events';
import { Harness, startHarness } from '../testing/harness';

const LOC = 'loc_activity';

/** SYN-9 in conversations: classification on the CRM message, bounced CRM sends, contact.replied. */
describe('conversations: who wrote it (SYN-9), real app + PostgreSQL + in-process bus', () => {
  let h: Harness;
  const token = () => h.svc.token(LOC, 'usr_sam');
  const conn = connection({ locationId: LOC, userId: 'usr_sam' });

  beforeAll(async () => {
    h = await startHarness();
    await h.publish(connectionConnectedV1, { connection: conn });
  });
  afterAll(async () => {
    await h?.close();
  });

  const activity = (type: string, contactId: string): EventEnvelope[] =>
    h.published.filter((e) => e.type === type && e.key === `${LOC}:${contactId}`);

  const messages = async (contactId: string) => {
    const res = await h
      .http()
      .get(`/v1/locations/${LOC}/conversations/${conversationIdFor(LOC, contactId)}/messages`)
      .set('Authorization', `Bearer ${token()}`);
    expect(res.status).toBe(200);
    return res.body.items as Array<Record<string, unknown>>;
  };

  /** A CRM send to the contact, sent through the mailbox with this Message-ID in provider thread `thread`. */
  async function crmSend(contactId: string, rfcMessageId: string, thread: string): Promise<string> {
    await h
      .http()
      .put(`/v1/locations/${LOC}/contacts/${contactId}`)
      .set('Authorization', `Bearer ${token()}`)
      .send({ email: `${contactId}@client.example` })
      .expect(201);
    const sent = await h
      .http()
      .post(`/v1/locations/${LOC}/contacts/${contactId}/emails`)
      .set('Authorization', `Bearer ${token()}`)
      .set('Idempotency-Key', `send-${contactId}-${rfcMessageId}`)
      .send({ kind: 'individual', userId: 'usr_sam', subject: 'Your quote', text: 'Here it is' });
    expect(sent.status).toBe(202);
    const sendId = sent.body.messageId as string;
    await h.publish(sendSucceededV1, {
      sendId,
      locationId: LOC,
      userId: 'usr_sam',
      contactId,
      conversationId: conversationIdFor(LOC, contactId),
      route: {
        kind: 'mailbox',
        connectionId: conn.connectionId,
        provider: 'google',
        mailboxKey: conn.mailboxKey,
        fromAddress: conn.emailAddress,
      },
      provider: 'google',
      providerMessageId: `gm-${thread}`,
      providerThreadId: thread,
      rfcMessageId,
      sentAt: '2026-11-22T08:00:00.000Z',
    });
    return sendId;
  }

  /**
   * Events leave through the outbox relay, in commit order: once a later human reply's contact.replied is out, any
   * event an earlier message caused would be out too. So a "nothing was published" assertion after this can fail.
   */
  async function barrier(contactId: string, rfcMessageId: string): Promise<void> {
    const before = activity('contact.replied', contactId).length;
    await h.publish(
      messageSyncedV1,
      synced(LOC, contactId, { message: { inReplyTo: rfcMessageId, classification: 'human' } }),
    );
    await expectEventually(() => expect(activity('contact.replied', contactId)).toHaveLength(before + 1));
  }

  it("SYN-9: a human reply to a CRM send is contact.replied and shows `human`; an out-of-office, bulk mail and the user's own mail in that thread are not", async () => {
    const sendId = await crmSend('ct_reply', '<mb.reply-1@acme.example>', 'gt-reply');
    const reply = (over: Parameters<typeof synced>[2]) =>
      h.publish(messageSyncedV1, synced(LOC, 'ct_reply', { connectionId: conn.connectionId, ...over }));

    const oof = await reply({
      message: {
        providerThreadId: 'gt-reply',
        inReplyTo: '<mb.reply-1@acme.example>',
        subject: 'Automatic reply: Your quote',
        classification: 'auto_reply',
        sentAt: '2026-11-22T08:01:00.000Z',
      },
    });
    const newsletter = await reply({
      message: { providerThreadId: 'gt-reply', classification: 'bulk', sentAt: '2026-11-22T08:02:00.000Z' },
    });
    const own = await reply({
      direction: 'outbound',
      message: {
        providerThreadId: 'gt-reply',
        inReplyTo: '<mb.reply-1@acme.example>',
        from: { address: conn.emailAddress },
        classification: 'human',
        sentAt: '2026-11-22T08:03:00.000Z',
      },
    });
    const human = await reply({
      message: {
        providerThreadId: 'gt-reply',
        inReplyTo: '<mb.reply-1@acme.example>',
        references: ['<mb.reply-1@acme.example>'],
        classification: 'human',
        sentAt: '2026-11-22T08:04:00.000Z',
      },
    });

    // Published after the commit (outbox relay): wait for the one expected, then check it is the only one.
    await expectEventually(() => expect(activity('contact.replied', 'ct_reply').length).toBeGreaterThan(0));
    const replied = activity('contact.replied', 'ct_reply');
    expect(replied).toHaveLength(1);
    expect(replied[0].payload).toMatchObject({
      locationId: LOC,
      contactId: 'ct_reply',
      conversationId: conversationIdFor(LOC, 'ct_reply'),
      messageId: human.payload.deliveryId,
      inReplyToMessageId: sendId,
      connectionId: conn.connectionId,
      repliedAt: '2026-11-22T08:04:00.000Z',
    });

    const byId = new Map((await messages('ct_reply')).map((m) => [m.id, m]));
    expect(byId.get(human.payload.deliveryId)).toMatchObject({ classification: 'human', status: 'received' });
    expect(byId.get(oof.payload.deliveryId)).toMatchObject({ classification: 'auto_reply' });
    expect(byId.get(newsletter.payload.deliveryId)).toMatchObject({ classification: 'bulk' });
    expect(byId.get(own.payload.deliveryId)).toMatchObject({ classification: null });
    expect(byId.get(sendId)).toMatchObject({ status: 'sent', classification: null, bounce: null });
  });

  it('SYN-9: a human message that answers no CRM send (a thread the contact started) is not contact.replied', async () => {
    await crmSend('ct_norply', '<mb.norply@acme.example>', 'gt-norply');
    const other = await h.publish(
      messageSyncedV1,
      synced(LOC, 'ct_norply', {
        connectionId: conn.connectionId,
        rule: 'SYN-3',
        message: { providerThreadId: 'gt-contact-started', classification: 'human' },
      }),
    );
    await barrier('ct_norply', '<mb.norply@acme.example>');
    expect(
      activity('contact.replied', 'ct_norply').map((e) => (e.payload as { messageId: string }).messageId),
    ).not.toContain(other.payload.deliveryId);
    const mine = (await messages('ct_norply')).find((m) => m.id === other.payload.deliveryId);
    expect(mine).toMatchObject({ classification: 'human' });
  });

  it('SYN-9: a bounce marks the CRM send `bounced` with the status and diagnostic, once, and message.bounced says so; a late Sent copy keeps it bounced', async () => {
    const sendId = await crmSend('ct_bounce', '<mb.bounce-1@acme.example>', 'gt-bounce');
    const report = {
      format: 'rfc3464' as const,
      recipients: [
        {
          address: 'ct_bounce@client.example',
          status: '5.1.1',
          diagnostic: '550-5.1.1 The email account that you tried to reach does not exist.',
        },
      ],
      status: '5.1.1',
      diagnostic: '550-5.1.1 The email account that you tried to reach does not exist.',
      originalMessageId: '<mb.bounce-1@acme.example>',
    };
    const dsn = (providerMessageId: string) =>
      h.publish(
        messageSyncedV1,
        synced(LOC, 'ct_bounce', {
          connectionId: conn.connectionId,
          message: {
            providerMessageId,
            providerThreadId: 'gt-bounce',
            from: { name: 'Mail Delivery Subsystem', address: 'mailer-daemon@googlemail.com' },
            subject: 'Delivery Status Notification (Failure)',
            classification: 'bounce',
            bounce: report,
            sentAt: '2026-11-22T08:00:05.000Z',
          },
        }),
      );
    const first = await dsn('gm-dsn-1');
    await dsn('gm-dsn-2'); // a second report for the same send (another MTA, a retry)

    await expectEventually(() => expect(activity('message.bounced', 'ct_bounce').length).toBeGreaterThan(0));
    const bounced = activity('message.bounced', 'ct_bounce');
    expect(bounced).toHaveLength(1);
    expect(bounced[0].payload).toEqual({
      locationId: LOC,
      contactId: 'ct_bounce',
      conversationId: conversationIdFor(LOC, 'ct_bounce'),
      messageId: sendId,
      bounceMessageId: first.payload.deliveryId,
      recipients: report.recipients,
      status: '5.1.1',
      diagnostic: report.diagnostic,
      bouncedAt: '2026-11-22T08:00:05.000Z',
    });
    await barrier('ct_bounce', '<mb.bounce-1@acme.example>');
    expect(activity('contact.replied', 'ct_bounce')).toHaveLength(1);
    expect(activity('message.bounced', 'ct_bounce')).toHaveLength(1);

    // The Sent copy seen after the bounce does not make it `sent` again.
    await h.publish(
      messageSyncedV1,
      synced(LOC, 'ct_bounce', {
        direction: 'outbound',
        source: 'crm',
        crmMessageId: sendId,
        connectionId: conn.connectionId,
        rule: 'SYN-5',
        message: {
          providerMessageId: 'gm-gt-bounce',
          providerThreadId: 'gt-bounce',
          rfcMessageId: '<mb.bounce-1@acme.example>',
          from: { address: conn.emailAddress },
          subject: 'Your quote',
        },
      }),
    );

    await expectEventually(async () => {
      const send = (await messages('ct_bounce')).find((m) => m.id === sendId);
      expect(send).toMatchObject({
        status: 'bounced',
        bounce: {
          status: '5.1.1',
          diagnostic: report.diagnostic,
          recipients: report.recipients,
          bounceMessageId: first.payload.deliveryId,
          bouncedAt: '2026-11-22T08:00:05.000Z',
        },
      });
    });
    const dsnRow = (await messages('ct_bounce')).find((m) => m.id === first.payload.deliveryId);
    expect(dsnRow).toMatchObject({ classification: 'bounce', status: 'received' });
  });

  it('SYN-9: a bounce whose original is not a CRM send changes nothing and announces nothing', async () => {
    await crmSend('ct_other', '<mb.other@acme.example>', 'gt-other');
    await h.publish(
      messageSyncedV1,
      synced(LOC, 'ct_other', {
        message: {
          classification: 'bounce',
          bounce: {
            format: 'postfix',
            recipients: [{ address: 'x@client.example', status: '5.1.1', diagnostic: 'unknown' }],
            status: '5.1.1',
            diagnostic: 'unknown',
            originalMessageId: '<something-the-user-sent@acme.example>',
          },
        },
      }),
    );
    await barrier('ct_other', '<mb.other@acme.example>');
    expect(activity('message.bounced', 'ct_other')).toEqual([]);
    const rows = await h.sql<{ status: string }>(
      `SELECT status FROM conversations.messages WHERE location_id = $1 AND source = 'crm' AND contact_id = 'ct_other'`,
      [LOC],
    );
    expect(rows).toEqual([{ status: 'sent' }]);
  });
});
