import {
  connectionConnectedV1,
  conversationIdFor,
  messageSyncedV1,
  sendSucceededV1,
  type ConnectionSnapshot,
} from '@mailbridge/contracts';
import { connection, synced } from '../testing/events';
import { Harness, startHarness } from '../testing/harness';

const LOC = 'loc_order';
const USER = 'usr_sam';

/**
 * SYN-6 at the resolution mail really has: Date headers are whole seconds, providers' receivedAt are milliseconds,
 * a CRM send is placed at its request time until the provider reports when it went out.
 */
describe("conversations: the order of a conversation's messages (SYN-6, real app, real PostgreSQL)", () => {
  let h: Harness;
  let sam: ConnectionSnapshot;

  beforeAll(async () => {
    h = await startHarness({ RATE_LIMIT_PER_MINUTE: '0' });
    sam = connection({ locationId: LOC, userId: USER, provider: 'google' });
    await h.publish(connectionConnectedV1, { connection: sam });
  });
  afterAll(async () => {
    await h?.close();
  });

  const auth = () => `Bearer ${h.svc.token(LOC, USER)}`;

  const contact = async (contactId: string) => {
    await h
      .http()
      .put(`/v1/locations/${LOC}/contacts/${contactId}`)
      .set('Authorization', auth())
      .send({ email: `${contactId}@example.com` })
      .expect(201);
  };

  /** A CRM send requested at `requestedAt`: only Date is faked, so the real server stamps that request time. */
  const sendAt = async (requestedAt: string, contactId: string, subject: string): Promise<string> => {
    const token = auth();
    jest.useFakeTimers({
      now: new Date(requestedAt),
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
    });
    try {
      const res = await h
        .http()
        .post(`/v1/locations/${LOC}/contacts/${contactId}/emails`)
        .set('Authorization', token)
        .set('Idempotency-Key', `key-${subject}`)
        .send({ kind: 'individual', userId: USER, subject, text: 'From the CRM' });
      expect(res.status).toBe(202);
      return res.body.messageId as string;
    } finally {
      jest.useRealTimers();
    }
  };

  const sent = (contactId: string, sendId: string, p: { sentAt: string; rfcMessageId: string }) =>
    h.publish(sendSucceededV1, {
      sendId,
      locationId: LOC,
      userId: USER,
      contactId,
      conversationId: conversationIdFor(LOC, contactId),
      route: {
        kind: 'mailbox',
        connectionId: sam.connectionId,
        provider: 'google',
        mailboxKey: sam.mailboxKey,
        fromAddress: sam.emailAddress,
      },
      provider: 'google',
      providerMessageId: `gm-${sendId}`,
      providerThreadId: `gt-${contactId}`,
      rfcMessageId: p.rfcMessageId,
      sentAt: p.sentAt,
    });

  /** An inbound message with this Date header and provider receivedAt; returns its id in the conversation. */
  const inbound = async (
    contactId: string,
    subject: string,
    p: { date: string; receivedAt: string; inReplyTo?: string },
  ): Promise<string> => {
    const event = synced(LOC, contactId, {
      message: {
        providerMessageId: `gm-${subject}`,
        rfcMessageId: `<${subject}@example.com>`,
        inReplyTo: p.inReplyTo ?? null,
        subject,
        sentAt: p.date,
        receivedAt: p.receivedAt,
      },
    });
    await h.publish(messageSyncedV1, event);
    return event.deliveryId;
  };

  const page = async (contactId: string, limit: number, cursor?: string) => {
    const res = await h
      .http()
      .get(`/v1/locations/${LOC}/conversations/${conversationIdFor(LOC, contactId)}/messages`)
      .query({ limit, ...(cursor ? { cursor } : {}) })
      .set('Authorization', auth());
    expect(res.status).toBe(200);
    return res.body as { items: Array<{ id: string; subject: string }>; nextCursor: string | null };
  };
  const ids = async (contactId: string) => (await page(contactId, 100)).items.map((m) => m.id);

  it('SYN-6: a CRM send requested at 10:00:00.700 is listed before a reply dated 10:00:00 (Date headers are whole seconds) that the provider received at 10:00:01.200', async () => {
    await contact('ct_ooo');
    const email = await sendAt('2026-11-20T10:00:00.700Z', 'ct_ooo', 'meeting');
    const autoReply = await inbound('ct_ooo', 'auto-reply', {
      date: '2026-11-20T10:00:00.000Z',
      receivedAt: '2026-11-20T10:00:01.200Z',
    });
    expect(await ids('ct_ooo')).toEqual([email, autoReply]);

    // Still first once the provider reports it sent, within the same second.
    await sent('ct_ooo', email, {
      sentAt: '2026-11-20T10:00:00.900Z',
      rfcMessageId: '<mb.meeting@acme.example>',
    });
    expect(await ids('ct_ooo')).toEqual([email, autoReply]);
  });

  it("SYN-6: a reply (In-Reply-To) is never listed before the email it answers, even when its Date is a second before the email's provider sentAt, whichever is recorded first", async () => {
    for (const [contactId, replyFirst] of [
      ['ct_skew_a', false],
      ['ct_skew_b', true],
    ] as const) {
      await contact(contactId);
      const email = await sendAt('2026-11-20T10:00:00.700Z', contactId, `renewal-${contactId}`);
      const rfcMessageId = `<mb.${contactId}@acme.example>`;
      const reply = () =>
        inbound(contactId, `reply-${contactId}`, {
          date: '2026-11-20T10:00:00.000Z',
          receivedAt: '2026-11-20T10:00:01.500Z',
          inReplyTo: rfcMessageId,
        });
      // As a provider's API can return the header: with the space after "Message-ID:". Still the same id.
      const delivered = () =>
        sent(contactId, email, { sentAt: '2026-11-20T10:00:01.100Z', rfcMessageId: ` ${rfcMessageId}` });
      let replyId: string;
      if (replyFirst) {
        replyId = await reply();
        await delivered();
      } else {
        await delivered();
        replyId = await reply();
      }
      expect(await ids(contactId)).toEqual([email, replyId]);
    }
  });

  it('SYN-6: two inbound messages with the same Date second are listed by when the provider received them, not by arrival', async () => {
    await contact('ct_vic');
    // Recorded newest first (a re-list after a re-consent publishes newest first).
    const second = await inbound('ct_vic', 'hello-again', {
      date: '2026-11-20T09:30:00.000Z',
      receivedAt: '2026-11-20T09:30:02.400Z',
    });
    const first = await inbound('ct_vic', 'are-you-there', {
      date: '2026-11-20T09:30:00.000Z',
      receivedAt: '2026-11-20T09:30:01.100Z',
    });
    expect(await ids('ct_vic')).toEqual([first, second]);
  });

  it('SYN-6: cursor pages over messages of one Date second stay exact while more of that second are recorded between page reads', async () => {
    await contact('ct_ties');
    const at = (ms: number) => ({
      date: '2026-11-20T11:00:00.000Z',
      receivedAt: `2026-11-20T11:00:00.${String(ms).padStart(3, '0')}Z`,
    });
    // Recorded out of receivedAt order.
    for (const [subject, ms] of [
      ['t3', 300],
      ['t1', 100],
      ['t5', 500],
      ['t2', 200],
      ['t4', 400],
    ] as const) {
      await inbound('ct_ties', subject, at(ms));
    }
    const first = await page('ct_ties', 2);
    expect(first.items.map((m) => m.subject)).toEqual(['t1', 't2']);

    // Recorded now: one that belongs on the page already read, one after the cursor.
    await inbound('ct_ties', 't0-late', at(50));
    await inbound('ct_ties', 't6-late', at(950));

    const seen = first.items.map((m) => m.subject);
    let cursor = first.nextCursor;
    while (cursor) {
      const next = await page('ct_ties', 2, cursor);
      seen.push(...next.items.map((m) => m.subject));
      cursor = next.nextCursor;
    }
    expect(seen).toEqual(['t1', 't2', 't3', 't4', 't5', 't6-late']);
    expect((await page('ct_ties', 100)).items.map((m) => m.subject)).toEqual([
      't0-late',
      't1',
      't2',
      't3',
      't4',
      't5',
      't6-late',
    ]);
  });

  it("SYN-6: the previous release's cursor ([sortAt, seq]) continues after its row; one naming no row of the conversation is a 400 invalid_cursor", async () => {
    await contact('ct_cursor');
    for (const [subject, ms] of [
      ['c1', 100],
      ['c2', 200],
      ['c3', 300],
    ] as const) {
      await inbound('ct_cursor', subject, {
        date: '2026-11-20T12:00:00.000Z',
        receivedAt: `2026-11-20T12:00:00.${ms}Z`,
      });
    }
    const [c1] = await h.sql<{ seq: string; sort_at: Date }>(
      `SELECT seq::text AS seq, sort_at FROM conversations.messages WHERE subject = 'c1' AND location_id = $1`,
      [LOC],
    );
    const legacy = (seq: string) =>
      Buffer.from(JSON.stringify([c1.sort_at.toISOString(), seq])).toString('base64url');
    const after = await page('ct_cursor', 10, legacy(c1.seq));
    expect(after.items.map((m) => m.subject)).toEqual(['c2', 'c3']);

    const res = await h
      .http()
      .get(`/v1/locations/${LOC}/conversations/${conversationIdFor(LOC, 'ct_cursor')}/messages`)
      .query({ cursor: legacy('999999999') })
      .set('Authorization', auth());
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_cursor');
    const otherShape = Buffer.from(JSON.stringify(['x', 1, 2, 3])).toString('base64url');
    const shape = await h
      .http()
      .get(`/v1/locations/${LOC}/conversations/${conversationIdFor(LOC, 'ct_cursor')}/messages`)
      .query({ cursor: otherShape })
      .set('Authorization', auth());
    expect(shape.status).toBe(400);
    expect(shape.body.error.code).toBe('invalid_cursor');
  });

  it('SYN-6: a row inserted by the previous release (no sort columns) gets its listing key from the migration trigger', async () => {
    await contact('ct_old_writer');
    await inbound('ct_old_writer', 'new-writer', {
      date: '2026-11-20T13:00:05.000Z',
      receivedAt: '2026-11-20T13:00:05.500Z',
    });
    // What the previous version inserts: every column it knew, none of the sort key.
    await h.sql(
      `INSERT INTO conversations.messages (message_id, location_id, conversation_id, contact_id, direction, source,
         status, from_address, to_addresses, cc_addresses, bcc_addresses, subject, sent_at, received_at, sort_at,
         created_at, updated_at)
       SELECT gen_random_uuid(), location_id, conversation_id, contact_id, direction, source, status, from_address,
         to_addresses, cc_addresses, bcc_addresses, 'old-writer', '2026-11-20T13:00:01.000Z',
         '2026-11-20T13:00:01.250Z', '2026-11-20T13:00:01.000Z', now(), now()
       FROM conversations.messages WHERE subject = 'new-writer' AND location_id = $1`,
      [LOC],
    );
    const [row] = await h.sql<{ sort_second: Date; sort_received_at: Date }>(
      `SELECT sort_second, sort_received_at FROM conversations.messages WHERE subject = 'old-writer'`,
    );
    expect(row.sort_second.toISOString()).toBe('2026-11-20T13:00:01.000Z');
    expect(row.sort_received_at.toISOString()).toBe('2026-11-20T13:00:01.250Z');
    expect((await page('ct_old_writer', 10)).items.map((m) => m.subject)).toEqual([
      'old-writer',
      'new-writer',
    ]);
  });
});
