import { eventCatalog, messageDecidedV1, type PayloadOf } from '@mailbridge/contracts';
import type { TransactionContext, UnitOfWork } from '@mailbridge/platform-persistence';
import { type EventOf, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { DataSource } from 'typeorm';
import { MessageLedgerRepository } from '../ledger/message-ledger.repository';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness';
import { DecisionsConsumer } from './decisions.consumer';

const SINGLE = 'ledger-single@gmail.sandbox.test';
const BATCH = 'ledger-batch@gmail.sandbox.test';
const keyOf = (address: string) => `google:${address}`;

type Decision = PayloadOf<typeof messageDecidedV1>;
const decision = (providerMessageId: string, over: Partial<Decision> = {}): Decision => ({
  mailboxKey: '',
  providerMessageId,
  outcome: 'synced',
  rule: 'SYN-2',
  reason: null,
  conversations: 1,
  decidedAt: new Date().toISOString(),
  ...over,
});

/**
 * Issue 16: the ledger's batch path (message.decided, one statement per batch) leaves the rows the single path
 * (one event per transaction) leaves. The same decisions go through both, each into its own mailbox.
 */
describe('mail-gateway: recording a batch of decisions in the ledger (SYN-10, issue 16, PostgreSQL)', () => {
  let h: GatewayHarness;
  let uow: UnitOfWork;
  let consumer: DecisionsConsumer;

  beforeAll(async () => {
    h = await startGatewayHarness({
      sandbox: {
        mailboxes: [
          { provider: 'google', address: SINGLE },
          { provider: 'google', address: BATCH },
        ],
      },
    });
    await Promise.all([h.connect(SINGLE, 'google'), h.connect(BATCH, 'google')]);
    uow = h.gateway.app.get(UNIT_OF_WORK);
    consumer = h.gateway.app.get(DecisionsConsumer);
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  /** Runs `work` in one transaction, counting its SQL statements (transaction control apart). */
  const counted = async (work: (tx: TransactionContext) => Promise<void>) => {
    let statements = 0;
    await uow.run(async (tx) => {
      const runner = tx.manager.queryRunner;
      if (!runner) throw new Error('no query runner in a transaction');
      const query = runner.query.bind(runner);
      runner.query = ((...args: Parameters<typeof query>) => {
        if (!/^\s*(COMMIT|ROLLBACK|START|BEGIN)/i.test(args[0])) statements += 1;
        return query(...args);
      }) as typeof runner.query;
      await work(tx);
    });
    return statements;
  };

  const ledgerOf = async (address: string) =>
    h.query(
      `SELECT l.provider_message_id, l.outcome, l.rule, l.reason, l.conversations, l.redriven_at IS NOT NULL AS redriven
         FROM mail_gateway.message_ledger l JOIN mail_gateway.mailboxes m ON m.id = l.mailbox_id
        WHERE m.mailbox_key = $1 ORDER BY l.provider_message_id`,
      [keyOf(address)],
    );

  it('gives the same rows as one event at a time: later decisions replace earlier ones, marks kept, unknown mailboxes ignored', async () => {
    const decisions = [
      decision('m1'),
      decision('m2', {
        outcome: 'not_synced',
        rule: 'SYN-3',
        reason: 'no_matching_contact',
        conversations: 0,
      }),
      decision('m3', { outcome: 'skipped', rule: 'SYN-5', reason: 'excluded' }),
      decision('m1', { outcome: 'not_synced', rule: 'SYN-3', reason: 'contact_removed', conversations: 0 }),
      decision('m4', { conversations: 2 }),
      decision('m2', { conversations: 3 }),
      decision('m5', { mailboxKey: 'google:nobody@gmail.sandbox.test' }),
    ];
    const ledger = h.gateway.app.get(MessageLedgerRepository);
    const dataSource = h.gateway.app.get(DataSource);
    const events = (address: string) =>
      decisions.map(
        (d) =>
          eventCatalog.create(messageDecidedV1, {
            ...d,
            mailboxKey: d.mailboxKey || keyOf(address),
          }) as EventOf<typeof messageDecidedV1>,
      );
    for (const address of [SINGLE, BATCH]) {
      // An audit re-drove m4 before its decision arrived: the mark stays.
      const [{ id }] = await h.query<{ id: string }>(
        `SELECT id FROM mail_gateway.mailboxes WHERE mailbox_key = $1`,
        [keyOf(address)],
      );
      await ledger.markRedriven(dataSource.manager, id, ['m4']);
    }

    for (const event of events(SINGLE)) await counted((tx) => consumer.onDecided(event, tx));
    const batchStatements = await counted((tx) => consumer.onDecisions(events(BATCH), tx));

    const single = await ledgerOf(SINGLE);
    expect(single.map((r) => r.provider_message_id)).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect(single[0]).toMatchObject({ outcome: 'not_synced', reason: 'contact_removed' });
    expect(single[3]).toMatchObject({ outcome: 'synced', redriven: true });
    expect(await ledgerOf(BATCH)).toEqual(single);
    expect(batchStatements).toBe(1);
  });

  it('writes nothing for an empty batch', async () => {
    expect(await counted((tx) => consumer.onDecisions([], tx))).toBe(0);
  });
});
