import { randomUUID } from 'node:crypto';
import type { EventDefinition } from '@mailbridge/contracts';
import type { Logger } from '@mailbridge/platform-observability';
import {
  createServiceDataSource,
  initializeServiceDataSource,
  type TransactionContext,
} from '@mailbridge/platform-persistence';
import { createTestDatabase, type TestDatabase } from '@mailbridge/testing';
import type { DataSource } from 'typeorm';
import type { MailboxEntity } from '../mailboxes/mailbox.entity';
import type { SyncHealthService } from '../mailboxes/sync-health.service';
import type { ProviderCallPolicy } from '../provider-access/provider-call.policy';
import { mailGatewayService } from '../service';
import { MailboxStateService } from './mailbox-state.service';
import { MessageStateRepository } from './message-state.repository';

jest.setTimeout(60_000);

/**
 * SYN-7 race: conversations and mail-gateway read sync-engine's `message.decided` separately, so the CRM may already
 * show a message whose outcome has not reached mail-gateway's ledger. A state change pulled in that window is not seen
 * again: it must count, not be dropped. On PostgreSQL, with the service's migrations; no provider is called.
 */
describe('mail-gateway: state changes of messages whose outcome is pending (SYN-7, PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let service: MailboxStateService;
  const mailbox = {
    id: randomUUID(),
    mailboxKey: 'google:sam@gmail.sandbox.test',
    provider: 'google',
  } as MailboxEntity;
  const repo = new MessageStateRepository();

  beforeAll(async () => {
    db = await createTestDatabase('mb_msgstate');
    ds = createServiceDataSource({
      url: db.url,
      schema: mailGatewayService.schema,
      entities: mailGatewayService.entities,
      migrations: mailGatewayService.migrations,
      poolSize: 2,
    });
    await initializeServiceDataSource(ds, { runMigrations: true });
    await ds.query(
      `INSERT INTO mail_gateway.mailboxes (id, mailbox_key, provider, email_address, desired, stage)
       VALUES ($1, $2, 'google', 'sam@gmail.sandbox.test', 'active', 'watching')`,
      [mailbox.id, mailbox.mailboxKey],
    );
    const quiet = { info: () => undefined, warn: () => undefined } as unknown as Logger;
    const health = { connectionsPayload: async () => [] } as unknown as SyncHealthService;
    service = new MailboxStateService(repo, health, {} as ProviderCallPolicy, {} as never, ds, quiet);
  });
  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  /** Observed by this service; `outcome` undefined: sync-engine's decision has not arrived (no ledger outcome). */
  const observe = async (id: string, outcome?: 'synced' | 'not_synced') => {
    await ds.query(
      `INSERT INTO mail_gateway.observed_messages (mailbox_id, provider_message_id) VALUES ($1, $2)`,
      [mailbox.id, id],
    );
    await ds.query(
      `INSERT INTO mail_gateway.message_ledger (mailbox_id, provider_message_id, outcome) VALUES ($1, $2, $3)`,
      [mailbox.id, id, outcome ?? null],
    );
  };

  /** Runs `record` with an in-memory outbox; answers the ids of the `message.state-changed` events. */
  const record = async (ids: string[]) => {
    const emitted: string[] = [];
    const tx = {
      manager: ds.manager,
      emit: (_def: EventDefinition, payload: { providerMessageId: string }) => {
        emitted.push(payload.providerMessageId);
        return {};
      },
      afterCommit: () => undefined,
    } as unknown as TransactionContext;
    const at = new Date();
    await service.record(
      tx,
      mailbox,
      ids.map((providerMessageId) => ({ providerMessageId, state: { read: true }, at })),
    );
    return emitted.sort();
  };

  it('SYN-7: a read seen for a message observed but not yet decided is a state change (not dropped); a decided not-synced or an unknown message gives none', async () => {
    await observe('m-synced', 'synced');
    await observe('m-pending');
    await observe('m-not-synced', 'not_synced');

    expect([...(await repo.syncedAmong(ds.manager, mailbox.id, ['m-pending', 'm-unknown']))]).toEqual([
      'm-pending',
    ]);
    expect(await record(['m-synced', 'm-pending', 'm-not-synced', 'm-unknown'])).toEqual([
      'm-pending',
      'm-synced',
    ]);
    // Remembered: the same state seen again once the outcome arrives is no second change.
    await ds.query(
      `UPDATE mail_gateway.message_ledger SET outcome = 'synced' WHERE provider_message_id = 'm-pending'`,
    );
    expect(await record(['m-pending'])).toEqual([]);
  });
});
