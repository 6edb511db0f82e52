import { DataSource } from 'typeorm';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness';
import { countStatements, type StatementCount } from '../testing/statement-counter';
import { MailboxProcessor } from '../sync/mailbox-processor.service';
import { ApplyConnectionChangeUseCase } from './apply-connection-change.use-case';
import { MailboxEntity } from './mailbox.entity';
import { MailboxesRepository } from './mailboxes.repository';
import { SyncHealthService } from './sync-health.service';

const PIA = 'pia-connect@gmail.sandbox.test';

const oneLine = (q: string) => q.replace(/\s+/g, ' ').trim();
/** A read of the mailbox row (TypeORM's entity SELECT, or the old lock). */
const readsMailbox = (q: string) => /^SELECT .*FROM "?mail_gateway"?\."?mailboxes"?\b/i.test(oneLine(q));

/**
 * Issue 16: what connecting a mailbox costs mail-gateway's database. The row of the mailbox is read where it may have
 * changed since this process wrote it (each round of the processor), not after each of its own writes.
 */
describe('mail-gateway: the database cost of connecting a mailbox (sandbox Gmail)', () => {
  let h: GatewayHarness;
  let store: ReturnType<typeof countStatements>;
  const change: StatementCount = { statements: [], transactions: 0 };
  const processing: StatementCount & { runs: number } = { statements: [], transactions: 0, runs: 0 };

  beforeAll(async () => {
    h = await startGatewayHarness({ sandbox: { mailboxes: [{ provider: 'google', address: PIA }] } });
    store = countStatements();
    const changes = h.gateway.app.get(ApplyConnectionChangeUseCase);
    const execute = changes.execute.bind(changes);
    jest
      .spyOn(changes, 'execute')
      .mockImplementation((tx, event) => store.count(change, () => execute(tx, event)));
    const processor = h.gateway.app.get(MailboxProcessor);
    const process = processor.process.bind(processor);
    jest.spyOn(processor, 'process').mockImplementation((id: string) => {
      processing.runs++;
      return store.count(processing, () => process(id));
    });
  }, 180_000);
  afterAll(async () => {
    jest.restoreAllMocks();
    store?.restore();
    await h?.close();
  });

  it('issue 16: a connect reads the mailbox row once per round of its processing, never after its own writes', async () => {
    await h.connect(PIA, 'google');
    const mailboxId = (await h.mailbox(PIA, 'google'))!.id as string;
    await h.waitIdle(mailboxId);
    if (process.env.CONNECT_COST_TRACE)
      console.log(
        [change, processing]
          .map(
            (c) =>
              `statements=${c.statements.length} transactions=${c.transactions}\n` +
              c.statements.map((q) => oneLine(q).slice(0, 100)).join('\n'),
          )
          .join('\n----\n'),
      );
    // The connection change: the upsert of the mailbox locks it and answers it (no lock, no read after).
    expect(change.statements.filter(readsMailbox)).toEqual([]);
    // One read per round: setup, then the catch-up re-list with the history pull, then (each run) nothing due.
    const runs = processing.statements.filter((q) => q.includes('INSERT INTO mail_gateway.leases')).length;
    expect(runs).toBeGreaterThan(0);
    expect(processing.statements.filter(readsMailbox).length).toBeLessThanOrEqual(runs + 2);
    // Two transactions: the setup, and the catch-up re-list's last page ending it. Its empty first label writes no
    // progress, and the history pull that finds nothing is one statement of its own.
    expect(processing.transactions).toBe(2);
  });

  it('issue 16: a health change answers the row as a read of it would, without the read', async () => {
    const mailboxes = h.gateway.app.get(MailboxesRepository);
    const health = h.gateway.app.get(SyncHealthService);
    const uow = h.gateway.app.get<UnitOfWork>(UNIT_OF_WORK);
    const mailboxId = (await h.mailbox(PIA, 'google'))!.id as string;
    const count: StatementCount = { statements: [], transactions: 0 };
    const written = await store.count(count, () =>
      uow.run((tx) =>
        health.apply(tx, mailboxId, {
          recovery: { labelIndex: 1, pageToken: null, startedAt: '2026-01-02T03:04:05.678Z' },
          renewalFailures: 2,
          lastErrorAt: new Date('2026-01-02T03:04:05.678Z'),
        }),
      ),
    );
    expect(count.statements.filter(readsMailbox)).toEqual([]);
    const read = await mailboxes.findById(mailboxId);
    // The health event of that change rewrote its signature after: the rest is the row as written.
    expect({ ...written, healthSignature: null, healthPublishedAt: null, updatedAt: null }).toEqual({
      ...read,
      healthSignature: null,
      healthPublishedAt: null,
      updatedAt: null,
    });
    expect(written?.recovery).toEqual({
      labelIndex: 1,
      pageToken: null,
      startedAt: '2026-01-02T03:04:05.678Z',
    });
    expect(written?.lastErrorAt).toBeInstanceOf(Date);
    expect(written?.renewalFailures).toBe(2);
  });

  it("issue 16: the mailbox read by id or key (a statement of its own) answers what TypeORM's own read does", async () => {
    const ds = h.gateway.app.get(DataSource);
    const mailboxes = h.gateway.app.get(MailboxesRepository);
    // A row no connection points at (stopped, as wanted): nothing else writes it while the reads compare.
    const id = await ds.transaction(async (tx) => {
      const m = await mailboxes.ensure(tx, {
        mailboxKey: 'google:hydration@gmail.sandbox.test',
        provider: 'google',
        emailAddress: 'Hydration@gmail.sandbox.test',
      });
      const at = (n: number) => new Date(Date.UTC(2026, 0, 2, 3, 4, 5, n));
      await mailboxes.update(tx, m.id, {
        historyId: '123456',
        cursorSyncedAt: at(1),
        baselineAt: at(2),
        recovery: { labelIndex: 2, pageToken: 'p', startedAt: '2026-01-02T03:04:05.678Z' },
        watchExpiresAt: at(3),
        watchRenewAt: at(4),
        renewalFailures: 3,
        pullRequestedAt: at(5),
        backoffUntil: at(6),
        failures: 4,
        lastNotificationAt: at(7),
        lastPullAt: at(8),
        lastSyncedAt: at(9),
        lastErrorCode: 'rate_limited',
        lastErrorMessage: 'slow down',
        lastErrorAt: at(10),
        healthSignature: 'sig',
        healthPublishedAt: at(11),
      });
      await tx.query(`UPDATE mail_gateway.mailboxes SET pull_request_history_id = '777' WHERE id = $1`, [
        m.id,
      ]);
      return m.id;
    });
    const typeorm = await ds.getRepository(MailboxEntity).findOneByOrFail({ id });
    // Every column set, so a column the raw read (findEntityBy) left out or converted otherwise shows.
    expect(Object.entries(typeorm).filter(([, v]) => v === null || v === undefined)).toEqual([]);
    const byId = await mailboxes.findById(id);
    const byKey = await ds.transaction((tx) =>
      mailboxes.findByKey('google:hydration@gmail.sandbox.test', tx),
    );
    expect(byId).toEqual(typeorm);
    expect(byKey).toEqual(typeorm);
    expect(byId).toBeInstanceOf(MailboxEntity);
    expect(byKey).toBeInstanceOf(MailboxEntity);
    expect(await mailboxes.findById('00000000-0000-4000-8000-000000000000')).toBeNull();
  });
});
