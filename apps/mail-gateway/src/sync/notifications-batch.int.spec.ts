import { Client } from 'pg';
import { eventCatalog, mailboxNotificationReceivedV1, type PayloadOf } from '@mailbridge/contracts';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { type ConsumerContext, type EventOf, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness';
import { NotificationsConsumer } from './notifications.consumer';
import { SyncScheduler } from './sync-scheduler.service';

const SINGLE = 'notify-single@gmail.sandbox.test';
const BATCH = 'notify-batch@gmail.sandbox.test';
const keyOf = (address: string) => `google:${address}`;

type Notification = PayloadOf<typeof mailboxNotificationReceivedV1>;
const push = (historyId: string, second: number, mailboxKey = ''): Notification => ({
  provider: 'google',
  mailboxKey,
  historyId,
  receivedAt: `2026-12-06T10:00:${String(second).padStart(2, '0')}.000Z`,
});

/**
 * Issue 16: the notifications' batch path (one transaction per batch, nudges after its commit) leaves the mailbox
 * rows and nudges the single path (one transaction per notification) leaves. The same pushes go to two mailboxes.
 */
describe('mail-gateway: a batch of Gmail notifications (issue 16, PostgreSQL)', () => {
  let h: GatewayHarness;
  let uow: UnitOfWork;
  let consumer: NotificationsConsumer;
  /** COMMITs sent to PostgreSQL so far, and each nudge with the count when it came. */
  let commits = 0;
  /** Statements that read or write a mailbox row (the notification's own cost). */
  let mailboxStatements = 0;
  const nudges: Array<{ mailboxId: string; commits: number }> = [];
  const ids: Record<string, string> = {};

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
    consumer = h.gateway.app.get(NotificationsConsumer);
    // No pull runs from here on (the scheduler's tick and the nudges): the rows stay what the notifications made.
    const scheduler = h.gateway.app.get(SyncScheduler);
    await scheduler.beforeApplicationShutdown();
    jest.spyOn(scheduler, 'nudge').mockImplementation((mailboxId: string) => {
      nudges.push({ mailboxId, commits });
    });
    const query = Client.prototype.query as (...args: unknown[]) => unknown;
    jest.spyOn(Client.prototype, 'query').mockImplementation(function (this: Client, ...args: unknown[]) {
      const first = args[0];
      const text = typeof first === 'string' ? first : ((first as { text?: string })?.text ?? '');
      if (/^\s*COMMIT/i.test(text)) commits++;
      if (/"?mail_gateway"?\."?mailboxes"?/.test(text)) mailboxStatements++;
      return query.apply(this, args);
    } as never);
    for (const address of [SINGLE, BATCH])
      [{ id: ids[address] }] = await h.query<{ id: string }>(
        `SELECT id FROM mail_gateway.mailboxes WHERE mailbox_key = $1`,
        [keyOf(address)],
      );
  }, 180_000);
  afterAll(async () => {
    jest.restoreAllMocks();
    await h?.close();
  });

  const reset = () =>
    h.query(
      `UPDATE mail_gateway.mailboxes SET history_id = '100', pull_requested_at = NULL, pull_request_history_id = NULL,
              last_notification_at = NULL, stage = 'watching', recovery = NULL
        WHERE mailbox_key = ANY($1)`,
      [[keyOf(SINGLE), keyOf(BATCH)]],
    );
  const rowOf = async (address: string) =>
    (
      await h.query(
        `SELECT history_id, pull_request_history_id, pull_requested_at IS NOT NULL AS requested, last_notification_at
           FROM mail_gateway.mailboxes WHERE mailbox_key = $1`,
        [keyOf(address)],
      )
    )[0];
  const events = (address: string, pushes: readonly Notification[]) =>
    pushes.map(
      (p) =>
        eventCatalog.create(mailboxNotificationReceivedV1, {
          ...p,
          mailboxKey: p.mailboxKey || keyOf(address),
        }) as EventOf<typeof mailboxNotificationReceivedV1>,
    );
  /** The pushes through both paths; the nudges each made, by mailbox address. */
  const both = async (pushes: readonly Notification[]) => {
    await reset();
    nudges.length = 0;
    for (const event of events(SINGLE, pushes)) {
      const context: ConsumerContext = {
        delivery: { attempt: 1, maxAttempts: 1 } as ConsumerContext['delivery'],
        handleOnce: (work) => uow.handleOnce('notifications', event, work),
      };
      await consumer.onNotification(event, context);
    }
    const before = commits;
    await uow.run((tx) => consumer.onNotifications(events(BATCH, pushes), tx));
    const of = (address: string) => nudges.filter((n) => n.mailboxId === ids[address]);
    // The batch is one transaction: a nudge after its commit saw one more COMMIT than before it.
    return { single: of(SINGLE), batch: of(BATCH).map((n) => ({ ...n, committed: n.commits > before })) };
  };

  it('gives the rows of one notification at a time, and nudges each mailbox once, after the commit', async () => {
    const { single, batch } = await both([
      push('150', 1),
      push('90', 2), // at or below the cursor: nothing new
      push('120', 3),
      push('200', 4),
      push('300', 5, 'google:nobody@gmail.sandbox.test'),
    ]);
    expect(await rowOf(BATCH)).toEqual(await rowOf(SINGLE));
    expect(await rowOf(BATCH)).toMatchObject({ pull_request_history_id: '200', requested: true });
    expect(single.length).toBeGreaterThan(0);
    expect(batch).toEqual([{ mailboxId: ids[BATCH], commits: expect.any(Number), committed: true }]);
  });

  it('nudges nothing for pushes the cursor already covers, like the single path', async () => {
    const { single, batch } = await both([push('90', 1), push('100', 2)]);
    expect(await rowOf(BATCH)).toEqual(await rowOf(SINGLE));
    expect(await rowOf(BATCH)).toMatchObject({ requested: false });
    expect(single).toEqual([]);
    expect(batch).toEqual([]);
  });

  it("issue 16: coalesces a mailbox's pushes in a batch into one pull request (two statements, not two per push)", async () => {
    const pushes = Array.from({ length: 40 }, (_, i) => push(String(200 + ((i * 7) % 40)), i % 60));
    const before = mailboxStatements;
    const { single, batch } = await both(pushes);
    const statements = mailboxStatements - before;
    expect(await rowOf(BATCH)).toEqual(await rowOf(SINGLE));
    expect(await rowOf(BATCH)).toMatchObject({ pull_request_history_id: '239', requested: true });
    expect(single.length).toBeGreaterThan(0);
    expect(batch).toEqual([{ mailboxId: ids[BATCH], commits: expect.any(Number), committed: true }]);
    // `both` resets the rows (one statement), runs the 40 pushes one at a time (two each), then the batch.
    expect(statements - 1 - 2 * pushes.length).toBe(2);
  });
});
