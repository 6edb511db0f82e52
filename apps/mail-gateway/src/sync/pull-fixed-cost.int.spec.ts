import { eventCatalog, mailboxNotificationReceivedV1, messageObservedV1 } from '@mailbridge/contracts';
import { expectEventually } from '@mailbridge/testing';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness';
import { countStatements, type StatementCount } from '../testing/statement-counter';
import { DataSource } from 'typeorm';
import { MailboxesRepository } from '../mailboxes/mailboxes.repository';
import { MailboxProcessor } from './mailbox-processor.service';

const PIA = 'pia-fixed@gmail.sandbox.test';
const ALEX = 'alex@example.com';

/** What the mailbox's processing sent to PostgreSQL, and how many times it ran. */
interface Count extends StatementCount {
  runs: number;
}

/**
 * Issue 16: the fixed cost of a pull. A notification-driven pull records its success with its last page, a
 * notification that says nothing new asks for no pull, and a round that finds nothing writes one statement at most.
 */
describe('mail-gateway: the fixed cost of a mailbox pull (sandbox Gmail)', () => {
  let h: GatewayHarness;
  let mailboxId: string;
  let store: ReturnType<typeof countStatements>;
  let counting: Count | undefined;

  beforeAll(async () => {
    h = await startGatewayHarness({ sandbox: { mailboxes: [{ provider: 'google', address: PIA }] } });
    await h.connect(PIA, 'google');
    mailboxId = (await h.mailbox(PIA, 'google'))!.id as string;
    store = countStatements();
    // Every processing of the mailbox (whoever starts it: a notification's nudge, a scheduler tick) is counted.
    const processor = h.gateway.app.get(MailboxProcessor);
    const original = processor.process.bind(processor);
    jest.spyOn(processor, 'process').mockImplementation((id: string) => {
      const count = id === mailboxId ? counting : undefined;
      if (!count) return original(id);
      count.runs++;
      return store.count(count, () => original(id));
    });
  }, 180_000);
  afterAll(async () => {
    jest.restoreAllMocks();
    store?.restore();
    await h?.close();
  });

  /** The mailbox watching, no pull running or asked for. */
  const waitIdle = () => h.waitIdle(mailboxId);

  const handOffs = () => h.log.of(mailboxNotificationReceivedV1, (p) => p.mailboxKey === `google:${PIA}`);

  /** Counts the mailbox's processing while `run` goes and until its `newHandOffs` were consumed and all is idle. */
  async function counted(run: () => Promise<unknown>, newHandOffs: number): Promise<Count> {
    const count: Count = { statements: [], transactions: 0, runs: 0 };
    const before = handOffs().length;
    counting = count;
    try {
      await run();
      await expectEventually(() => expect(handOffs().length).toBeGreaterThanOrEqual(before + newHandOffs));
      await h.handOffsConsumed();
      await waitIdle();
    } finally {
      counting = undefined;
    }
    if (process.env.PULL_COST_TRACE)
      console.log(
        `runs=${count.runs} statements=${count.statements.length} transactions=${count.transactions}\n` +
          count.statements.map((q) => q.replace(/\s+/g, ' ').slice(0, 90)).join('\n'),
      );
    return count;
  }

  it('issue 16: a notification-driven pull of 8 messages costs one transaction and one write of the mailbox', async () => {
    await waitIdle();
    h.sandbox.control.setNotificationBehaviour('google', { hold: true });
    const ids: string[] = [];
    for (let i = 0; i < 8; i++)
      ids.push(
        (await h.sandbox.control.deliver(PIA, { from: ALEX, subject: `Eight ${i}`, text: `e${i}` })).message
          .id,
      );
    const count = await counted(async () => {
      // The held pushes go at once: the first asks for the pull, the others arrive during it or after it.
      h.sandbox.control.setNotificationBehaviour('google', { hold: false });
      for (const id of ids) await h.log.waitFor(messageObservedV1, (p) => p.message.providerMessageId === id);
    }, 8);
    for (const id of ids)
      expect(h.log.of(messageObservedV1, (p) => p.message.providerMessageId === id)).toHaveLength(1);
    // The page, the cursor and the success in one transaction; pushes that came in during the pull and asked for
    // history the cursor reached ask for no second round (before: 39 statements, 8 transactions).
    expect(count.transactions).toBe(1);
    expect(count.statements.length).toBeLessThanOrEqual(16);
    // The cursor, the success and the served pull request: one write of the mailbox row.
    expect(count.statements.filter((q) => /^\s*UPDATE mail_gateway\.mailboxes/.test(q))).toHaveLength(1);
  }, 120_000);

  it('issue 16: a duplicate notification right after (history at or below the cursor) asks for no pull', async () => {
    await waitIdle();
    const [first] = handOffs();
    expect(first?.historyId).toBeDefined();
    const before = (await h.mailbox(PIA, 'google'))!;
    const count = await counted(
      () => h.publish(eventCatalog.create(mailboxNotificationReceivedV1, first)),
      1,
    );
    // Before: a pull round of 10 statements and 2 transactions.
    expect(count.runs).toBe(0);
    expect(count.statements.length).toBeLessThanOrEqual(1);
    expect(count.transactions).toBe(0);
    const after = (await h.mailbox(PIA, 'google'))!;
    expect(after.pull_requested_at).toBeNull();
    expect(after.history_id).toBe(before.history_id);
  }, 60_000);

  it('issue 16: a notification with history beyond the cursor still asks for a pull (never dropped)', async () => {
    await waitIdle();
    const [first] = handOffs();
    const cursor = (await h.mailbox(PIA, 'google'))!.history_id as string;
    const beyond = { ...first, historyId: String(BigInt(cursor) + 1n) };
    const count = await counted(
      () => h.publish(eventCatalog.create(mailboxNotificationReceivedV1, beyond)),
      1,
    );
    expect(count.runs).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('issue 16: a cursor serves a pending pull request only when every request asked for history it reached', async () => {
    await waitIdle();
    const ds = h.gateway.app.get(DataSource);
    const repo = h.gateway.app.get(MailboxesRepository);
    const cursor = (await h.mailbox(PIA, 'google'))!.history_id as string;
    const seenLongAgo = new Date(Date.now() - 3_600_000);
    // Rolled back: the scheduler never sees these requests.
    const pendingAfter = async (requests: (string | undefined)[], covered: string) => {
      const runner = ds.createQueryRunner();
      await runner.startTransaction();
      try {
        for (const history of requests)
          await repo.requestPull(runner.manager, mailboxId, new Date(), history);
        await repo.updateServed(runner.manager, mailboxId, {}, seenLongAgo, covered);
        const [row] = await runner.manager.query(
          `SELECT pull_requested_at FROM mail_gateway.mailboxes WHERE id = $1`,
          [mailboxId],
        );
        return (row as { pull_requested_at: Date | null }).pull_requested_at !== null;
      } finally {
        await runner.rollbackTransaction();
        await runner.release();
      }
    };
    const next = String(BigInt(cursor) + 1n);
    const later = String(BigInt(cursor) + 2n);
    expect(await pendingAfter([next], cursor)).toBe(true);
    expect(await pendingAfter([next], next)).toBe(false);
    expect(await pendingAfter([next, later], next)).toBe(true);
    expect(await pendingAfter([later, next], later)).toBe(false);
    // A request of unknown history (a Graph notification, a connection change) is served only by a pull that saw it.
    expect(await pendingAfter([next, undefined], later)).toBe(true);
    expect(await pendingAfter([undefined, next], later)).toBe(true);
  }, 60_000);

  it('issue 16: an empty poll round writes one statement and no transaction', async () => {
    await waitIdle();
    const before = (await h.mailbox(PIA, 'google'))!;
    const polled = await counted(async () => {
      // Quiet for longer than SAFETY_NET_POLL_SECONDS: the scheduler's next tick polls the mailbox.
      await h.query(
        `UPDATE mail_gateway.mailboxes
            SET last_pull_at = now() - interval '2 hours', last_notification_at = now() - interval '2 hours'
          WHERE id = $1`,
        [mailboxId],
      );
      await expectEventually(async () =>
        expect(((await h.mailbox(PIA, 'google'))!.last_pull_at as Date).getTime()).toBeGreaterThan(
          Date.now() - 60_000,
        ),
      );
    }, 0);
    // Before: 10 statements and 2 transactions (the cursor rewritten, the success recorded in full).
    expect(polled.runs).toBeGreaterThanOrEqual(1);
    expect(polled.transactions).toBe(0);
    const writes = polled.statements.filter(
      (q) => /^\s*(UPDATE|INSERT|DELETE)/i.test(q) && !/leases/.test(q),
    );
    expect(writes).toHaveLength(1);
    expect((await h.mailbox(PIA, 'google'))!.history_id).toBe(before.history_id);
  }, 60_000);
});
