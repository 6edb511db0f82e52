import { Injectable } from '@nestjs/common';
import { queryRows, type Queryable } from '@mailbridge/platform-persistence';

/** `observed_messages`: which provider messages of a mailbox were already observed (emitted once, SYN-5/SYN-10). */
@Injectable()
export class ObservedMessagesRepository {
  /** Those of `ids` already observed in the mailbox. */
  async seenAmong(db: Queryable, mailboxId: string, ids: readonly string[]): Promise<Set<string>> {
    const rows = await queryRows<{ provider_message_id: string }>(
      db,
      `SELECT provider_message_id FROM mail_gateway.observed_messages
        WHERE mailbox_id = $1 AND provider_message_id = ANY($2::text[])`,
      [mailboxId, ids],
    );
    return new Set(rows.map((r) => r.provider_message_id));
  }

  /** Records them as observed; returns those that were not before (a redelivery claims nothing). */
  async claim(db: Queryable, mailboxId: string, ids: readonly string[]): Promise<Set<string>> {
    const rows = await queryRows<{ provider_message_id: string }>(
      db,
      `INSERT INTO mail_gateway.observed_messages (mailbox_id, provider_message_id)
       SELECT $1, unnest($2::text[])
       ON CONFLICT DO NOTHING RETURNING provider_message_id`,
      [mailboxId, ids],
    );
    return new Set(rows.map((r) => r.provider_message_id));
  }

  /** Observed again now (the audit's grace period starts over). */
  async touch(db: Queryable, mailboxId: string, ids: readonly string[]): Promise<void> {
    await db.query(
      `UPDATE mail_gateway.observed_messages SET observed_at = now()
        WHERE mailbox_id = $1 AND provider_message_id = ANY($2::text[])`,
      [mailboxId, ids],
    );
  }
}
