import { randomUUID } from 'node:crypto';
import { createServiceDataSource, initializeServiceDataSource } from '@mailbridge/platform-persistence';
import { createTestDatabase, type TestDatabase } from '@mailbridge/testing';
import type { DataSource } from 'typeorm';
import { conversationsService } from '../service';
import { MessageActivityRepository } from './message-activity.repository';

jest.setTimeout(60_000);

const LOC = 'loc_answered';

/**
 * SYN-9 `contact.replied`: which CRM send a reply answers. The send whose Message-ID the reply names wins over a later
 * send of the same provider thread that has no Message-ID (in PostgreSQL a NULL comparison sorts first in DESC order,
 * so the preference needs COALESCE). The single and the batch look-up must agree. On PostgreSQL, with the service's
 * migrations.
 */
describe('conversations: the CRM send a reply answers (SYN-9, PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  const repo = new MessageActivityRepository();
  const conversationId = randomUUID();
  const connectionId = randomUUID();

  beforeAll(async () => {
    db = await createTestDatabase('mb_answered');
    ds = createServiceDataSource({
      url: db.url,
      schema: conversationsService.schema,
      entities: conversationsService.entities,
      migrations: conversationsService.migrations,
      poolSize: 2,
    });
    await initializeServiceDataSource(ds, { runMigrations: true });
  });
  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  /** A CRM send of the conversation in provider thread `thread`, inserted in call order (seq). */
  const crmSend = async (rfcMessageId: string | null, thread: string): Promise<string> => {
    const messageId = randomUUID();
    await ds.query(
      `INSERT INTO conversations.messages
         (location_id, message_id, conversation_id, contact_id, user_id, connection_id, direction, source, status,
          to_addresses, cc_addresses, bcc_addresses, subject, sort_at, provider_thread_id, rfc_message_id,
          created_at, updated_at)
       VALUES ($1, $2, $3, 'ct_1', 'usr_sam', $4, 'outbound', 'crm', 'sent', '[]', '[]', '[]', 'Quote', now(), $5, $6,
               now(), now())`,
      [LOC, messageId, conversationId, connectionId, thread, rfcMessageId],
    );
    return messageId;
  };

  it('SYN-9: contact.replied names the CRM send whose Message-ID the reply cites, even when a later send of the thread has no Message-ID', async () => {
    const named = await crmSend('<quote-1@mailbridge.test>', 'thr-1');
    const later = await crmSend(null, 'thr-1');
    const reply = {
      replyIds: ['<quote-1@mailbridge.test>'],
      providerThreadId: 'thr-1',
      connectionId,
    };

    expect(await repo.crmSendAnswered(ds.manager, LOC, conversationId, reply)).toBe(named);
    // A reply that names no send of the conversation answers the latest send of its thread.
    const unnamed = { ...reply, replyIds: ['<elsewhere@client.example>'] };
    expect(await repo.crmSendAnswered(ds.manager, LOC, conversationId, unnamed)).toBe(later);
    expect(
      await repo.crmSendsAnswered(ds.manager, [
        { locationId: LOC, conversationId, ...reply },
        { locationId: LOC, conversationId, ...unnamed },
      ]),
    ).toEqual([named, later]);
  });
});
