import { Injectable } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { queryPreparedRows, queryRows, type Queryable } from '@mailbridge/platform-persistence';

/** What runs a prepared statement (issue 16). */
type Db = EntityManager | DataSource;

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

  /**
   * Issue 16, one statement for a pulled page: which of the ids were observed already (compared as stored, `stored`
   * holds the ids in storable form) and which have an open failure record (`raw` ids, as failures keep them).
   */
  async pageStatus(
    db: Queryable,
    mailboxId: string,
    stored: readonly string[],
    raw: readonly string[],
  ): Promise<{ observed: Set<string>; open: Map<string, { quarantined: boolean }> }> {
    const rows = await queryRows<{ provider_message_id: string; failure: boolean; quarantined: boolean }>(
      db,
      `SELECT provider_message_id, false AS failure, false AS quarantined FROM mail_gateway.observed_messages
        WHERE mailbox_id = $1 AND provider_message_id = ANY($2::text[])
       UNION ALL
       SELECT provider_message_id, true, quarantined_at IS NOT NULL FROM mail_gateway.message_failures
        WHERE mailbox_id = $1 AND provider_message_id = ANY($3::text[]) AND resolved_at IS NULL`,
      [mailboxId, stored, raw],
    );
    const observed = new Set<string>();
    const open = new Map<string, { quarantined: boolean }>();
    for (const r of rows) {
      if (r.failure) open.set(r.provider_message_id, { quarantined: r.quarantined });
      else observed.add(r.provider_message_id);
    }
    return { observed, open };
  }

  /** Records them as observed; returns those that were not before (a redelivery claims nothing). */
  async claim(db: Db, mailboxId: string, ids: readonly string[]): Promise<Set<string>> {
    // Prepared: an insert, with no plan to go stale as the table grows.
    const rows = await queryPreparedRows<{ provider_message_id: string }>(
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
