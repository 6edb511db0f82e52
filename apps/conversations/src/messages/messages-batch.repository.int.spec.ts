import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { storableText } from '@mailbridge/contracts';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { synced } from '../testing/events';
import { Harness, startHarness } from '../testing/harness';
import { MessageActivityRepository } from './message-activity.repository';
import { sortKeyOf } from './message-order';
import { crmSendRow, syncedMessageRow } from './message-row.factory';
import { type ColumnType, MESSAGE_ROW_COLUMNS, type MessageInsertRow, type NewMessage } from './message-rows';
import { MessagesBatchRepository } from './messages-batch.repository';
import { MessagesRepository } from './messages.repository';

const BATCH = 'loc_rows_batch';
const SINGLE = 'loc_rows_single';
const CONVERSATION = randomUUID();

/** Strings an array literal must carry as they are: its quotes, escapes, separators, and the word NULL. */
const AWKWARD = 'a "quoted", {braced} \\back\\slashed, tab\tand newline\n, 😀 ﷽ é';

/**
 * Issue 16: the batch path's INSERT (one statement over arrays) and the single path's (one row) must leave the same
 * rows, column for column: jsonb nulls, SQL nulls, texts an array literal has to escape, sort keys, classification.
 */
describe('conversations: the batch INSERT of messages leaves the rows the single INSERT leaves (issue 16, real PostgreSQL)', () => {
  let h: Harness;
  let uow: UnitOfWork;
  let repo: MessagesRepository;
  let batchRepo: MessagesBatchRepository;

  beforeAll(async () => {
    h = await startHarness();
    uow = h.svc.app.get(UNIT_OF_WORK);
    repo = h.svc.app.get(MessagesRepository);
    batchRepo = h.svc.app.get(MessagesBatchRepository);
  });
  afterAll(async () => {
    await h?.close();
  });

  /** The messages of the test, with the classification the use case would keep; unthreaded, so placeOf = sortKeyOf. */
  const messages = (): Array<{ message: NewMessage; classification: MessageInsertRow['classification'] }> => {
    const row = (over: Parameters<typeof synced>[2]) => ({
      ...syncedMessageRow(synced(BATCH, 'ct_rows', over)),
      conversationId: CONVERSATION,
    });
    const crm = crmSendRow({
      locationId: BATCH,
      messageId: randomUUID(),
      conversationId: CONVERSATION,
      contactId: 'ct_rows',
      userId: 'usr_sam',
      connectionId: randomUUID(),
      mailboxKey: 'google:usr_sam@acme.example',
      kind: 'individual',
      from: { name: 'Sam "the CRM"', address: 'usr_sam@acme.example' },
      to: [{ address: 'jane@example.com' }],
      cc: [{ name: AWKWARD, address: 'cc@example.com' }],
      bcc: [],
      subject: 'From the CRM',
      text: null,
      html: '<p class="x">\\</p>',
      at: new Date('2026-11-20T09:30:00.123Z'),
      inReplyTo: '<earlier@mail.example.com>',
      idempotencyKey: 'key-1',
    });
    return [
      {
        // No sender (jsonb JSON null), no bodies (SQL nulls), no sentAt: placed by when it was received.
        message: row({
          message: {
            from: null,
            text: null,
            html: null,
            sentAt: null,
            receivedAt: '2026-11-20T09:00:02.456Z',
            classification: 'human',
          },
        }),
        classification: 'human',
      },
      {
        // A subject made storable (U+0000 and a lone surrogate), texts the array literal must escape.
        message: row({
          message: {
            subject: storableText('NUL\u0000 and half a pair \uD83D here'),
            text: AWKWARD,
            html: `<b>${AWKWARD}</b>`,
            from: { name: AWKWARD, address: 'jane@example.com' },
            cc: [{ address: 'a@example.com' }, { name: '', address: 'b@example.com' }],
            bcc: [{ address: 'hidden@example.com' }],
            references: ['<r1@mail.example.com>', '<r2@mail.example.com>'],
            bodyTruncated: true,
            sentAt: '2026-11-20T09:10:00.999Z',
            receivedAt: '2026-11-20T09:10:01.000Z',
          },
        }),
        classification: 'bulk',
      },
      {
        // The word NULL and empty strings are texts, not SQL NULLs.
        message: {
          ...row({
            message: { subject: 'NULL', text: '', html: 'null', providerThreadId: null },
            direction: 'outbound',
          }),
          provider: null,
          userId: null,
          rule: null,
        },
        classification: null,
      },
      {
        message: { ...crm, failureCode: 'smtp_550', failureMessage: 'rejected, "no such user"' },
        classification: null,
      },
    ];
  };

  const inBatch = (loc: string, rows: ReturnType<typeof messages>): MessageInsertRow[] =>
    rows.map(({ message, classification }) => ({
      message: { ...message, locationId: loc },
      key: sortKeyOf(message),
      classification,
    }));

  /** Every column but the location and what the database assigns; each jsonb also as text (JSON null ≠ SQL NULL). */
  const rowsOf = (locationId: string) =>
    h
      .sql(
        `SELECT m.*, from_address::text AS from_text, to_addresses::text AS to_text, cc_addresses::text AS cc_text,
              bcc_addresses::text AS bcc_text, "references"::text AS references_text, bounce::text AS bounce_text,
              mailbox_state::text AS mailbox_state_text
       FROM conversations.messages m WHERE location_id = $1 ORDER BY seq`,
        [locationId],
      )
      .then((rows) =>
        rows.map(({ location_id, seq, created_at, updated_at, ...rest }) => {
          expect([location_id, typeof seq, created_at, updated_at]).toEqual([
            locationId,
            'string',
            expect.any(Date),
            expect.any(Date),
          ]);
          return rest;
        }),
      );

  /** Runs `work` in a transaction and counts its statements on messages (not the transaction's own). */
  const counted = async <T>(work: (tx: Parameters<Parameters<UnitOfWork['run']>[0]>[0]) => Promise<T>) => {
    let statements = 0;
    const result = await uow.run(async (tx) => {
      const runner = tx.manager.queryRunner!;
      const query = runner.query.bind(runner);
      runner.query = ((...args: Parameters<typeof query>) => {
        const text: unknown = args[0];
        const sql = typeof text === 'string' ? text : (text as { text: string }).text;
        if (sql.includes('conversations.messages')) statements += 1;
        return query(...args);
      }) as typeof runner.query;
      return work(tx);
    });
    return { result, statements };
  };

  it('issue 16: a batch and the same messages one at a time leave column-for-column equal rows, jsonb and SQL nulls included', async () => {
    const rows = messages();
    await uow.run(async (tx) => {
      for (const { message, classification } of rows) {
        expect(await repo.insert(tx.manager, { ...message, locationId: SINGLE }, [])).toBe(true);
        // SYN-9: the single path keeps the classification with an UPDATE after the insert.
        if (classification)
          await h.svc.app
            .get(MessageActivityRepository)
            .setClassification(tx.manager, SINGLE, message.messageId, classification);
      }
    });
    const batch = inBatch(BATCH, rows);
    const { result: inserted, statements } = await counted((tx) =>
      batchRepo.insertMessages(tx.manager, batch),
    );

    expect(statements).toBe(1);
    expect(inserted).toEqual(new Set(rows.map((r) => r.message.messageId.toLowerCase())));
    const fromBatch = await rowsOf(BATCH);
    expect(fromBatch).toEqual(await rowsOf(SINGLE));
    // Not two equally wrong copies: in the batch's order (seq), with the values written.
    expect(fromBatch.map((r) => r.message_id)).toEqual(rows.map((r) => r.message.messageId));
    expect(fromBatch[0]).toMatchObject({
      from_text: 'null',
      text_body: null,
      html_body: null,
      sent_at: null,
      classification: 'human',
      sort_second: new Date('2026-11-20T09:00:02.000Z'),
      sort_received_at: new Date('2026-11-20T09:00:02.456Z'),
      bounce_text: null,
      mailbox_state_text: null,
    });
    expect(fromBatch[1]).toMatchObject({
      subject: 'NUL\uFFFD and half a pair \uFFFD here',
      text_body: AWKWARD,
      from_address: { name: AWKWARD, address: 'jane@example.com' },
      cc_addresses: [{ address: 'a@example.com' }, { name: '', address: 'b@example.com' }],
      references: ['<r1@mail.example.com>', '<r2@mail.example.com>'],
      body_truncated: true,
      classification: 'bulk',
      sort_second: new Date('2026-11-20T09:10:00.000Z'),
      sort_received_at: new Date('2026-11-20T09:10:01.000Z'),
    });
    expect(fromBatch[2]).toMatchObject({ subject: 'NULL', text_body: '', html_body: 'null', user_id: null });
    expect(fromBatch[3]).toMatchObject({
      mailbox_key: 'google:usr_sam@acme.example',
      kind: 'individual',
      idempotency_key: 'key-1',
      failure_message: 'rejected, "no such user"',
      references_text: '[]',
      cc_addresses: [{ name: AWKWARD, address: 'cc@example.com' }],
    });
  });

  it('issue 16 (SYN-5): a batch recorded again inserts nothing and answers no ids; only its new rows come back', async () => {
    const loc = 'loc_rows_again';
    const rows = messages();
    await uow.run((tx) => batchRepo.insertMessages(tx.manager, inBatch(loc, rows)));
    const before = await rowsOf(loc);

    const again = await uow.run((tx) => batchRepo.insertMessages(tx.manager, inBatch(loc, rows)));
    expect(again).toEqual(new Set());
    expect(await rowsOf(loc)).toEqual(before);

    // A copy of a recorded message (same provider message, new id) among a new one: only the new one is inserted.
    const fresh = messages()[1];
    const copy = {
      ...rows[0],
      message: { ...rows[0].message, messageId: randomUUID(), deliveryId: randomUUID() },
    };
    const mixed = await uow.run((tx) => batchRepo.insertMessages(tx.manager, inBatch(loc, [copy, fresh])));
    expect(mixed).toEqual(new Set([fresh.message.messageId.toLowerCase()]));
    expect(await rowsOf(loc)).toHaveLength(rows.length + 1);
  });

  it('issue 16 (SYN-5): two copies of one message in one batch: the first is recorded, as one at a time', async () => {
    const loc = 'loc_rows_twice';
    const [first] = messages();
    const copy = {
      ...first,
      message: { ...first.message, messageId: randomUUID(), deliveryId: randomUUID() },
    };
    const inserted = await uow.run((tx) => batchRepo.insertMessages(tx.manager, inBatch(loc, [first, copy])));

    expect(inserted).toEqual(new Set([first.message.messageId.toLowerCase()]));
    expect((await rowsOf(loc)).map((r) => r.message_id)).toEqual([first.message.messageId]);
  });

  it("issue 16: each array of the batch INSERT is cast to its column's type in the schema (a later migration that changes one fails here)", async () => {
    const rows: Array<{ column_name: string; udt_name: string }> = await h.svc.app.get(DataSource).query(
      `SELECT column_name, udt_name FROM information_schema.columns
         WHERE table_schema = 'conversations' AND table_name = 'messages'`,
    );
    const schema = new Map(rows.map((r) => [r.column_name, r.udt_name]));
    const udt: Record<ColumnType, string> = {
      text: 'text',
      uuid: 'uuid',
      jsonb: 'jsonb',
      boolean: 'bool',
      timestamptz: 'timestamptz',
    };
    const cast = MESSAGE_ROW_COLUMNS.map(([column, type]) => [column.replace(/"/g, ''), udt[type]]);
    expect(cast).toEqual(cast.map(([column]) => [column, schema.get(column)]));
  });

  it('issue 16: an empty batch runs no statement', async () => {
    const { result, statements } = await counted((tx) => batchRepo.insertMessages(tx.manager, []));
    expect(result).toEqual(new Set());
    expect(statements).toBe(0);
  });

  it('issue 16: a new message finds its first reply and the CRM send it answers by index, not by walking its conversation', async () => {
    const LONG = 'loc_rows_long';
    const conversationId = randomUUID();
    const row = (i: number) => ({
      ...syncedMessageRow(
        synced(LONG, 'ct_long', {
          message: {
            rfcMessageId: `<long-${i}@mail.example.com>`,
            inReplyTo: `<long-${i - 1}@mail.example.com>`,
          },
        }),
      ),
      conversationId,
    });
    // A long thread of synced mail (no CRM send in it), its statistics known, as in a long-running database.
    await uow.run(async (tx) => {
      const rows: MessageInsertRow[] = Array.from({ length: 3_000 }, (_, i) => {
        const message = row(i);
        return { message, key: sortKeyOf(message), classification: null };
      });
      for (let i = 0; i < rows.length; i += 500)
        await batchRepo.insertMessages(tx.manager, rows.slice(i, i + 500));
    });
    const explain = async (): Promise<string[]> => {
      const plans: string[] = [];
      await uow.run(async (tx) => {
        // Each statement as the repositories send it, explained with the same values.
        const query = jest.spyOn(tx.manager, 'query');
        await batchRepo.threadNeighbours(tx.manager, [
          {
            locationId: LONG,
            conversationId,
            messageId: randomUUID(),
            inReplyTo: null,
            rfcMessageId: '<new@x>',
          },
        ]);
        await h.svc.app.get(MessageActivityRepository).crmSendsAnswered(tx.manager, [
          {
            locationId: LONG,
            conversationId,
            replyIds: ['<long-5@mail.example.com>'],
            providerThreadId: 'thread-long',
            connectionId: null,
          },
        ]);
        const sent = query.mock.calls.map(([sql, params]) => ({ sql: String(sql), params }));
        query.mockRestore();
        for (const { sql, params } of sent) {
          const [{ 'QUERY PLAN': plan }] = (await tx.manager.query(
            `EXPLAIN (FORMAT JSON) ${sql}`,
            params,
          )) as Array<{
            'QUERY PLAN': unknown;
          }>;
          plans.push(JSON.stringify(plan));
        }
      });
      return plans;
    };
    type PlanNode = {
      'Node Type': string;
      'Relation Name'?: string;
      'Index Name'?: string;
      Plans?: PlanNode[];
    };
    /** How each plan reads conversations.messages: the index of each scan of it, or the scan's type. */
    const scans = (plan: string): string[] => {
      const out: string[] = [];
      const walk = (n: PlanNode) => {
        if (n['Relation Name'] === 'messages') out.push(n['Index Name'] ?? n['Node Type']);
        for (const child of n.Plans ?? []) walk(child);
      };
      walk((JSON.parse(plan) as Array<{ Plan: PlanNode }>)[0].Plan);
      return out;
    };
    // Before the table's statistics exist (a fresh database; autovacuum off) and after.
    const fresh = await explain();
    await h.svc.app.get(DataSource).query('ANALYZE conversations.messages');
    for (const plans of [fresh, await explain()]) {
      expect(plans).toHaveLength(2);
      expect(scans(plans[0])).toContain('messages_in_reply_to_idx');
      expect(scans(plans[1])).toEqual(['messages_crm_sends_idx']);
      for (const plan of plans) {
        expect(scans(plan)).not.toContain('Seq Scan');
        expect(plan).not.toContain('messages_conversation_sort_idx');
        expect(plan).not.toContain('messages_conversation_order_idx');
      }
    }
  });
});
