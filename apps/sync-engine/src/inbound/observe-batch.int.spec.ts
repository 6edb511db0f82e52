import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource, type EntityManager } from 'typeorm';
import { sendRequestedV1, type EventDefinition } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import type { ObservedMessage } from '../decisions/decision.types';
import {
  connected,
  connectionSnapshot,
  contactUpserted,
  emailRequested,
  observedEvent,
  observedMessage,
  sendSucceeded,
} from '../testing/events';
import { startInProcessHarness, type Harness } from '../testing/harness';
import { ObserveBatchUseCase, SmartBccInBatchError } from './observe-batch.use-case';
import { ObserveMessageUseCase } from './observe-message.use-case';

/**
 * Issue 16: the batch path (one context load, in-memory decisions over an overlay, multi-row writes) decides a
 * sequence of observed messages exactly as the single path does one at a time: same events, same rows.
 * Each run is a transaction rolled back afterwards, so both paths start from the same state.
 */
describe('issue 16: observed messages decided as a batch (PostgreSQL)', () => {
  let h: Harness;
  const ME = 'sam.batch@acme.example';
  const key = `google:${ME}`;
  let sendRfc = '';
  let sendId = '';
  let answerRfc = '';

  beforeAll(async () => {
    h = await startInProcessHarness();
    const conn = (locationId: string) =>
      connectionSnapshot({ locationId, emailAddress: ME, mailboxKey: key });
    const inA = conn('loc_ba');
    await h.publish(
      connected(inA),
      connected(conn('loc_bb')),
      contactUpserted({ locationId: 'loc_ba', contactId: 'ct_jane', email: 'jane@example.com' }),
      contactUpserted({ locationId: 'loc_bb', contactId: 'ct_jane', email: 'Jane@example.com' }),
      contactUpserted({
        locationId: 'loc_ba',
        contactId: 'ct_bob',
        email: 'bob@example.com',
        assignedUserId: null,
      }),
    );
    const request = emailRequested({ locationId: 'loc_ba', to: [{ address: 'jane@example.com' }] });
    await h.publish(request);
    const [send] = await h.log.waitFor(sendRequestedV1, (p) => p.sendId === request.payload.messageId);
    sendRfc = send.rfcMessageId;
    sendId = send.sendId;
    await h.publish(
      sendSucceeded({
        sendId,
        locationId: 'loc_ba',
        userId: 'usr_sam',
        contactId: 'ct_jane',
        conversationId: request.payload.conversationId,
        route: send.route,
        provider: 'google',
        providerMessageId: 'gm-b-sent',
        providerThreadId: 'th-b-crm',
        rfcMessageId: sendRfc,
        sentAt: '2026-11-20T09:00:01.000Z',
      }),
    );
    // SYN-4: a thread of Jane's in both locations that the user answers from loc_bb; the send result is not in yet.
    await h.publish(
      observedEvent(msg('b-m1', { providerThreadId: 'th-b-multi', receivedAt: '2026-11-20T09:30:00.000Z' })),
    );
    await h.drained();
    const answer = emailRequested({
      locationId: 'loc_bb',
      to: [{ address: 'jane@example.com' }],
      replyTo: {
        messageId: randomUUID(),
        rfcMessageId: '<b-m1@example.com>',
        references: [],
        provider: 'google',
        providerThreadId: 'th-b-multi',
        subject: 'Hello',
      },
    });
    await h.publish(answer);
    answerRfc = (await h.log.waitFor(sendRequestedV1, (p) => p.sendId === answer.payload.messageId))[0]
      .rfcMessageId;
    await h.drained();
  });
  afterAll(async () => {
    await h?.close();
  });

  let seq = 0;
  const msg = (
    id: string,
    over: Partial<ObservedMessage['message']> = {},
    outbound = false,
  ): ObservedMessage =>
    observedMessage({
      mailboxId: randomUUID(),
      mailboxKey: key,
      mailboxAddress: ME,
      ...(outbound ? { direction: 'outbound' as const, inSent: true, labels: ['SENT'] } : {}),
      message: {
        providerMessageId: id,
        providerThreadId: `th-${id}`,
        rfcMessageId: `<${id}@example.com>`,
        from: { address: outbound ? ME : 'jane@example.com' },
        to: [{ address: outbound ? 'jane@example.com' : ME }],
        receivedAt: new Date(Date.parse('2026-11-20T10:00:00.000Z') + 1000 * ++seq).toISOString(),
        ...over,
      },
    });

  /** The scenario: every case the overlay must get right, in one sequence. */
  function scenario(): Array<{ eventId: string; observed: ObservedMessage }> {
    const list: ObservedMessage[] = [
      msg('b-n1'),
      // Two messages of one new thread: the second finds the binding the first created (same batch).
      msg('b-n2', { providerThreadId: 'th-b-n1', inReplyTo: '<b-n1@example.com>' }),
      // The Sent copy of the CRM send (X-Mailbridge-Ref), then a reply to it: found through the send's binding.
      msg('b-sent', { providerThreadId: 'th-b-crm', rfcMessageId: sendRfc, mailbridgeRef: sendId }, true),
      msg('b-r1', { providerThreadId: 'th-b-crm', inReplyTo: sendRfc, references: [sendRfc] }),
      // A duplicate of a message of this batch (push + poll): a repeat.
      msg('b-n1'),
      // A stranger, and a contact not assigned to the user.
      msg('b-s1', { from: { address: 'stranger@example.net' } }),
      msg('b-x1', { from: { address: 'bob@example.com' } }),
      // Outbound to a contact, new thread; then the contact answers it through In-Reply-To only (another thread id).
      msg('b-o1', {}, true),
      msg('b-o2', { providerThreadId: 'th-b-other', inReplyTo: '<b-o1@example.com>' }),
      // A reply before its thread's first message (parked), then that message: the single path replays it.
      msg('b-p2', {
        from: { address: 'stranger@example.net' },
        providerThreadId: 'th-b-p1',
        inReplyTo: '<b-p1@example.com>',
      }),
      msg('b-p1', {}, true),
      msg('b-n3', { providerThreadId: 'th-b-n1', references: ['<b-n1@example.com>', '<b-n2@example.com>'] }),
      // Jane answers the user's reply from loc_bb before its send result: the thread is loc_bb's only (SYN-4).
      msg('b-m3', { providerThreadId: 'th-b-multi', inReplyTo: answerRfc, references: [answerRfc] }),
    ];
    return list.map((observed) => ({ eventId: randomUUID(), observed }));
  }

  async function run(work: (tx: TransactionContext) => Promise<void>): Promise<{
    events: unknown[];
    rows: Record<string, unknown[]>;
    statements: number;
    afterCommit: number;
  }> {
    const qr = h.service.app.get(DataSource).createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    try {
      const events: unknown[] = [];
      let afterCommit = 0;
      const tx = {
        manager: qr.manager,
        emit: (def: EventDefinition, payload: Record<string, unknown>) => {
          const { decidedAt: _ignored, ...rest } = payload;
          events.push({ type: def.type, ...rest });
          return {};
        },
        // Rolled back below: nothing commits, so the effects (counters) are only counted, never run.
        afterCommit: () => void afterCommit++,
      } as unknown as TransactionContext;
      const spy = jest.spyOn(qr.manager, 'query');
      await work(tx);
      const statements = spy.mock.calls.length;
      spy.mockRestore();
      return { events, rows: await stored(qr.manager), statements, afterCommit };
    } finally {
      await qr.rollbackTransaction();
      await qr.release();
    }
  }

  /**
   * The items one at a time through the single path, then as one batch, each from the same state (rolled back);
   * both must emit the same events and leave the same rows.
   */
  async function runBoth(items: ReturnType<typeof scenario>) {
    const single = h.service.app.get(ObserveMessageUseCase);
    const batch = h.service.app.get(ObserveBatchUseCase);
    const one = await run(async (tx) => {
      for (const i of items) await single.execute(tx, i.eventId, i.observed);
    });
    const all = await run((tx) => batch.executeBatch(tx, items));
    expect(all.events).toEqual(one.events);
    expect(all.rows).toEqual(one.rows);
    expect(all.afterCommit).toBe(one.afterCommit);
    return { one, all };
  }

  async function stored(db: EntityManager): Promise<Record<string, unknown[]>> {
    const q = (sql: string) => db.query(sql, [key]);
    return {
      decisions: await q(
        `SELECT provider_message_id, rfc_message_id, event_id, source, direction, outcome, rules, deliveries, skips,
                trace, repeats FROM sync_engine.message_decision WHERE mailbox_key = $1 ORDER BY provider_message_id`,
      ),
      bindings: await q(
        `SELECT binding_id, location_id, connection_id, contact_id, conversation_id, origin_rule, origin_at, status
         FROM sync_engine.thread_binding WHERE mailbox_key = $1 ORDER BY binding_id`,
      ),
      keys: await q(
        `SELECT key, binding_id, provider_message_id, first_at FROM sync_engine.thread_key WHERE mailbox_key = $1
         ORDER BY key, binding_id`,
      ),
      parked: await q(
        `SELECT provider_message_id, keys, event_id FROM sync_engine.parked_message WHERE mailbox_key = $1
         ORDER BY provider_message_id`,
      ),
    };
  }

  it('issue 16: a batch emits the same events and stores the same rows as the messages one at a time', async () => {
    const decisionsCounted = async () =>
      /sync_engine_decisions_total\{[^}]*\} \d+/.exec(
        (await request(h.service.app.getHttpServer()).get('/metrics')).text,
      )?.[0] ?? 'none';
    const countedBefore = await decisionsCounted();
    const { one } = await runBoth(scenario());
    // Both runs rolled back: their decisions are counted at a commit that never came (a rolled-back batch that is
    // redelivered one event at a time must not count twice).
    expect(one.afterCommit).toBeGreaterThanOrEqual(one.rows.decisions.length);
    expect(await decisionsCounted()).toBe(countedBefore);
    // The scenario is not vacuous: deliveries, a repeat, parked mail, a parked reply decided again once bound.
    const outcome = (id: string) =>
      (one.rows.decisions as Array<{ provider_message_id: string; outcome: string }>).find(
        (d) => d.provider_message_id === id,
      )?.outcome;
    expect(
      one.events.filter((e) => (e as { type: string }).type === 'message.synced').length,
    ).toBeGreaterThanOrEqual(8);
    expect(one.rows.decisions.some((d) => (d as { repeats: number }).repeats === 1)).toBe(true);
    expect(one.events).toContainEqual(
      expect.objectContaining({ type: 'message.synced', crmMessageId: sendId, rule: 'SYN-5' }),
    );
    expect([outcome('b-s1'), outcome('b-x1'), outcome('b-p2')]).toEqual(['parked', 'parked', 'delivered']);
    expect(
      one.events
        .filter((e) => {
          const synced = e as { type: string; message?: { providerMessageId: string } };
          return synced.type === 'message.synced' && synced.message?.providerMessageId === 'b-m3';
        })
        .map((e) => (e as { locationId: string }).locationId),
    ).toEqual(['loc_bb']);
    expect(one.rows.parked.map((p) => (p as { provider_message_id: string }).provider_message_id)).toEqual([
      'b-s1',
      'b-x1',
    ]);
  });

  it('issue 16: a batch of 50 takes at most 0.5 SQL statements per message (the single path takes more than 2)', async () => {
    // Threads of three messages; every fifth message a stranger's (in a bound thread, or alone: parked for good);
    // one thread observed out of order (its reply parked, then decided again within the batch).
    const items = Array.from({ length: 50 }, (_, i) => {
      const n = String(i).padStart(2, '0');
      const thread = i % 5 === 4 && i % 3 === 0 ? `th-b-alone${n}` : `th-b-v${Math.floor(i / 3)}`;
      const from = i % 5 === 4 ? 'stranger@example.net' : 'jane@example.com';
      const over =
        i === 20
          ? {
              providerThreadId: 'th-b-late',
              inReplyTo: '<b-v21@example.com>',
              from: { address: 'stranger@example.net' },
            }
          : i === 21
            ? { providerThreadId: 'th-b-late', from: { address: 'jane@example.com' } }
            : { providerThreadId: thread, from: { address: from } };
      return { eventId: randomUUID(), observed: msg(`b-v${n}`, over) };
    });
    const { one, all } = await runBoth(items);
    expect(all.statements / items.length).toBeLessThanOrEqual(0.5);
    expect(one.statements / items.length).toBeGreaterThan(2);
    expect(one.rows.parked.length).toBeGreaterThan(0);
    const late = (one.rows.decisions as Array<{ provider_message_id: string; outcome: string }>).find(
      (d) => d.provider_message_id === 'b-v20',
    );
    expect(late?.outcome).toBe('delivered');
  });
  it("issue 16: a batch with a smart-BCC copy is refused before any lock or write (its users' mailboxes would be locked out of order): it goes one event at a time", async () => {
    const batch = h.service.app.get(ObserveBatchUseCase);
    const items = [
      { eventId: randomUUID(), observed: msg('b-bcc0') },
      { eventId: randomUUID(), observed: { ...msg('b-bcc1'), source: 'smart_bcc' as const } },
    ];
    let statements = -1;
    await expect(
      run(async (tx) => {
        const spy = jest.spyOn(tx.manager, 'query');
        try {
          await batch.executeBatch(tx, items);
        } finally {
          statements = spy.mock.calls.length;
        }
      }),
    ).rejects.toBeInstanceOf(SmartBccInBatchError);
    expect(statements).toBe(0);
  });
});
