import { randomUUID } from 'node:crypto';
import { conversationIdFor, type EventDefinition } from '@mailbridge/contracts';
import type { TransactionContext, UnitOfWork } from '@mailbridge/platform-persistence';
import { UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { synced } from '../testing/events';
import { Harness, startHarness } from '../testing/harness';
import { crmSendRow } from './message-row.factory';
import { MessagesBatchRepository } from './messages-batch.repository';
import { MessagesRepository } from './messages.repository';
import { RecordSyncedBatchUseCase } from './record-synced-batch.use-case';
import { type MessageSynced, RecordSyncedMessageUseCase } from './record-synced-message.use-case';

const BATCH = 'loc_batch';
const SINGLE = 'loc_single';
const CRM_SEND = randomUUID();

/** The same events in another location: same ids, the conversation of the same contact there. */
const moved = (p: MessageSynced, locationId: string): MessageSynced => ({
  ...p,
  locationId,
  conversationId: conversationIdFor(locationId, p.contactId),
});

const at = (minute: number, second = 0) =>
  `2026-11-20T10:${String(minute).padStart(2, '0')}:${String(second).padStart(2, '0')}.000Z`;

/**
 * Issue 16: the batch path records message.synced set-based, with the rows the single path leaves. Each test records
 * the same events through both, in two locations of one database, and compares what they left.
 */
describe('conversations: recording a batch of synced messages (issue 16, real app, real PostgreSQL)', () => {
  let h: Harness;
  let uow: UnitOfWork;
  let single: RecordSyncedMessageUseCase;
  let batch: RecordSyncedBatchUseCase;
  const emitted = new Map<string, Array<{ type: string; payload: unknown }>>();

  beforeAll(async () => {
    h = await startHarness();
    uow = h.svc.app.get(UNIT_OF_WORK);
    single = h.svc.app.get(RecordSyncedMessageUseCase);
    batch = h.svc.app.get(RecordSyncedBatchUseCase);
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Runs `work` in a transaction, counting its SQL statements and keeping what it emits, by location. */
  const counted = async (locationId: string, work: (tx: TransactionContext) => Promise<unknown>) => {
    let statements = 0;
    await uow.run(async (tx) => {
      const runner = tx.manager.queryRunner;
      if (!runner) throw new Error('no query runner in a transaction');
      const query = runner.query.bind(runner);
      runner.query = ((...args: Parameters<typeof query>) => {
        statements += 1;
        return query(...args);
      }) as typeof runner.query;
      const list = emitted.get(locationId) ?? [];
      emitted.set(locationId, list);
      await work({
        manager: tx.manager,
        afterCommit: tx.afterCommit,
        emit: (def: EventDefinition, payload: never) => {
          list.push({ type: def.type, payload });
          return tx.emit(def, payload);
        },
      } as TransactionContext);
    });
    return statements;
  };

  /** Records the events through the batch path in BATCH and one transaction each through the single path in SINGLE. */
  const recordBoth = async (events: readonly MessageSynced[]) => {
    const items = events.map((p) => ({ payload: moved(p, BATCH), context: { correlationId: randomUUID() } }));
    const batchStatements = await counted(BATCH, (tx) => batch.execute(tx, items));
    let singleStatements = 0;
    for (const p of events)
      singleStatements += await counted(SINGLE, (tx) => single.execute(tx, moved(p, SINGLE)));
    return { batchStatements, singleStatements };
  };

  /** What a location holds, without what differs by location or by when (seq only orders). */
  const snapshot = async (locationId: string) => ({
    messages: await h.sql(
      `SELECT message_id, contact_id, user_id, connection_id, direction, source, status, kind, from_address,
              to_addresses, subject, text_body, sort_at, sort_second, sort_received_at, sent_at, received_at, provider,
              provider_message_id, provider_thread_id, rfc_message_id, in_reply_to, "references", delivery_id, rule,
              failure_code, classification, bounce, mailbox_key
       FROM conversations.messages WHERE location_id = $1
       ORDER BY contact_id, sort_second, sort_received_at, seq`,
      [locationId],
    ),
    attachments: await h.sql(
      `SELECT message_id, position, filename, content_type, size, object_key, omitted_reason, inline
       FROM conversations.attachments WHERE location_id = $1 ORDER BY message_id, position`,
      [locationId],
    ),
    conversations: await h.sql(
      `SELECT contact_id, last_message_at, last_subject, message_count
       FROM conversations.conversations WHERE location_id = $1 ORDER BY contact_id`,
      [locationId],
    ),
    emitted: (emitted.get(locationId) ?? []).map((e) => ({
      type: e.type,
      payload: { ...(e.payload as object), locationId: undefined, conversationId: undefined },
    })),
  });

  it('issue 16: duplicates, reply ordering, a CRM send with its Sent copy, a reply and a bounce end as the single path leaves them', async () => {
    // A CRM send accepted earlier in both locations (pending, no Message-ID yet), and one message recorded before.
    const recordedBefore = synced(BATCH, 'ct_ann', {
      message: { rfcMessageId: '<before@mail.example.com>', sentAt: at(0), receivedAt: at(0, 2) },
    });
    for (const loc of [BATCH, SINGLE]) {
      await uow.run(async (tx) => {
        await h.svc.app.get(MessagesRepository).insert(
          tx.manager,
          crmSendRow({
            locationId: loc,
            messageId: CRM_SEND,
            conversationId: conversationIdFor(loc, 'ct_ann'),
            contactId: 'ct_ann',
            userId: 'usr_sam',
            connectionId: null,
            mailboxKey: null,
            kind: 'individual',
            from: { address: 'usr_sam@acme.example' },
            to: [{ address: 'jane@example.com' }],
            cc: [],
            bcc: [],
            subject: 'Your quote',
            text: 'From the CRM',
            html: null,
            at: new Date(at(1)),
            inReplyTo: null,
            idempotencyKey: `key-${loc}`,
          }),
          [],
        );
        await single.execute(tx, moved(recordedBefore, loc));
      });
    }

    const first = synced(BATCH, 'ct_ann', {
      message: {
        rfcMessageId: '<a1@mail.example.com>',
        sentAt: at(10),
        receivedAt: at(10, 1),
        attachments: [
          { filename: 'quote.pdf', contentType: 'application/pdf', size: 10, objectKey: 'sha256-aa' },
          { filename: 'big.bin', contentType: 'application/octet-stream', size: 99 },
        ],
        classification: 'human',
      },
    });
    const events: MessageSynced[] = [
      first,
      synced(BATCH, 'ct_bob', { message: { sentAt: at(12), subject: 'Bob here', classification: 'bulk' } }),
      // SYN-6: a reply whose sender's clock is behind is still listed after the message it answers.
      synced(BATCH, 'ct_ann', {
        message: {
          inReplyTo: '<a1@mail.example.com>',
          sentAt: at(9),
          receivedAt: at(9, 5),
          subject: 'Re: a1',
        },
      }),
      // A reply that arrives before the message it answers: the parent is listed before it.
      synced(BATCH, 'ct_ann', {
        message: {
          inReplyTo: '<p1@mail.example.com>',
          sentAt: at(20),
          receivedAt: at(20, 1),
          subject: 'Re: p1',
        },
      }),
      synced(BATCH, 'ct_ann', {
        message: {
          rfcMessageId: '<p1@mail.example.com>',
          sentAt: at(21),
          receivedAt: at(21, 1),
          subject: 'p1',
        },
      }),
      // SYN-5: the same decision redelivered, and a poll's copy of the same provider message: one row.
      first,
      { ...first, deliveryId: randomUUID(), message: { ...first.message, providerThreadId: 'thread-poll' } },
      // Loss path 5: another email reusing the Message-ID (another subject) is its own message.
      synced(BATCH, 'ct_ann', {
        message: { rfcMessageId: '<a1@mail.example.com>', sentAt: at(30), subject: 'Something else' },
      }),
      // A copy of the message recorded before this batch.
      { ...recordedBefore, deliveryId: randomUUID(), message: { ...recordedBefore.message, text: 'copy' } },
      // The Sent copy of the CRM send: it becomes sent, with the mailbox's ids and when the mailbox received it.
      synced(BATCH, 'ct_ann', {
        direction: 'outbound',
        source: 'crm',
        crmMessageId: CRM_SEND,
        message: {
          rfcMessageId: '<crm-1@acme.example>',
          from: { address: 'usr_sam@acme.example' },
          subject: 'Your quote',
          sentAt: at(1, 3),
          receivedAt: at(1, 4),
        },
      }),
      // A human reply to the CRM send (contact.replied), then a bounce of it (message.bounced).
      synced(BATCH, 'ct_ann', {
        message: {
          inReplyTo: '<crm-1@acme.example>',
          sentAt: at(40),
          subject: 'Re: Your quote',
          classification: 'human',
        },
      }),
      synced(BATCH, 'ct_ann', {
        message: {
          from: { address: 'mailer-daemon@example.com' },
          subject: 'Undelivered',
          sentAt: at(41),
          classification: 'bounce',
          bounce: {
            format: 'rfc3464',
            recipients: [{ address: 'jane@example.com', status: '5.1.1', diagnostic: 'no such user' }],
            status: '5.1.1',
            diagnostic: 'no such user',
            originalMessageId: '<crm-1@acme.example>',
          },
        },
      }),
      synced(BATCH, 'ct_bob', {
        direction: 'outbound',
        message: { from: { address: 'usr_sam@acme.example' }, sentAt: at(42), subject: 'To Bob' },
      }),
    ];
    await recordBoth(events);

    const fromBatch = await snapshot(BATCH);
    expect(fromBatch).toEqual(await snapshot(SINGLE));
    // The cases above are really there (not two equally empty locations).
    const ann = fromBatch.messages.filter((m) => m.contact_id === 'ct_ann');
    expect(ann.map((m) => m.subject)).toEqual([
      'Re: Your quote', // recordedBefore (the default subject)
      'Your quote',
      'Re: Your quote', // the first one, a1
      'Something else', // another email with a1's Message-ID: listed before the reply to that id
      'Re: a1',
      'p1',
      'Re: p1',
      'Re: Your quote',
      'Undelivered',
    ]);
    const p1 = ann.find((m) => m.subject === 'p1');
    const reP1 = ann.find((m) => m.subject === 'Re: p1');
    expect(ann.indexOf(p1!)).toBe(ann.indexOf(reP1!) - 1);
    expect(ann[1]).toMatchObject({
      message_id: CRM_SEND,
      status: 'bounced',
      rfc_message_id: '<crm-1@acme.example>',
    });
    expect(fromBatch.attachments).toHaveLength(2);
    expect(fromBatch.emitted.map((e) => e.type)).toEqual(['contact.replied', 'message.bounced']);
  });

  it('issue 16: 50 new messages in 10 conversations take a constant number of statements, not several per message', async () => {
    const events = Array.from({ length: 50 }, (_, i) =>
      synced(BATCH, `ct_many_${i % 10}`, {
        message: {
          rfcMessageId: `<many-${i}@mail.example.com>`,
          inReplyTo: i >= 10 ? `<many-${i - 10}@mail.example.com>` : null,
          sentAt: at(50, i),
          subject: `many ${i}`,
          classification: 'human',
          attachments:
            i % 5 === 0
              ? [{ filename: 'a.txt', contentType: 'text/plain', size: 1, objectKey: 'sha256-bb' }]
              : [],
        },
      }),
    );
    const { batchStatements, singleStatements } = await recordBoth(events);

    expect(await snapshot(BATCH)).toEqual(await snapshot(SINGLE));
    // Reported in the PR: statements per message on each path.
    process.stdout.write(
      `issue 16 record: batch ${batchStatements / 50}/msg (${batchStatements}), single ${singleStatements / 50}/msg\n`,
    );
    expect(batchStatements).toBeLessThanOrEqual(8);
    expect(singleStatements).toBeGreaterThan(50 * 4);
  });
  it("SYN-5: two providers' messages with the same provider message id are not taken for each other, nor locked as candidates", async () => {
    const google = synced(BATCH, 'ct_twins', {
      message: { provider: 'google', providerMessageId: 'pm-twin', sentAt: at(0), subject: 'From Gmail' },
    });
    for (const loc of [BATCH, SINGLE]) await counted(loc, (tx) => single.execute(tx, moved(google, loc)));
    const microsoft = synced(BATCH, 'ct_twins', {
      message: {
        provider: 'microsoft',
        providerMessageId: 'pm-twin',
        sentAt: at(1),
        subject: 'From Outlook',
      },
    });
    await recordBoth([microsoft]);

    expect(await snapshot(BATCH)).toEqual(await snapshot(SINGLE));
    const rows = await h.sql(
      `SELECT provider, subject FROM conversations.messages
       WHERE location_id = $1 AND provider_message_id = 'pm-twin' ORDER BY seq`,
      [BATCH],
    );
    expect(rows).toEqual([
      { provider: 'google', subject: 'From Gmail' },
      { provider: 'microsoft', subject: 'From Outlook' },
    ]);
    // The batch's lookup keys a provider message id with its provider, as findSame does: only Outlook's row is locked.
    const locked = await uow.run((tx) =>
      h.svc.app.get(MessagesBatchRepository).lockCandidates(tx.manager, {
        locationIds: [BATCH],
        conversationIds: [conversationIdFor(BATCH, 'ct_twins')],
        deliveryIds: [],
        providerMessages: [{ provider: 'microsoft', providerMessageId: 'pm-twin' }],
        rfcMessageIds: [],
      }),
    );
    expect(locked.map((m) => m.provider)).toEqual(['microsoft']);
  });

  it('issue 16: a batch of 2,000 new messages (more values than one statement takes as bind parameters; its columns go as arrays) is recorded whole', async () => {
    const LARGE = 'loc_large';
    const items = Array.from({ length: 2_000 }, (_, i) => ({
      payload: synced(LARGE, `ct_large_${i % 10}`, {
        message: { sentAt: at(0, i % 60), subject: `large ${i}` },
      }),
      context: { correlationId: randomUUID() },
    }));
    await counted(LARGE, (tx) => batch.execute(tx, items));

    const [{ n }] = await h.sql(
      `SELECT count(*)::int AS n FROM conversations.messages WHERE location_id = $1`,
      [LARGE],
    );
    expect(n).toBe(2_000);
    expect(
      await h.sql(
        `SELECT sum(message_count)::int AS n FROM conversations.conversations WHERE location_id = $1`,
        [LARGE],
      ),
    ).toEqual([{ n: 2_000 }]);
  });
});
