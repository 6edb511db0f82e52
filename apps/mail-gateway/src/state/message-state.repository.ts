import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { storableText } from '@mailbridge/contracts';
import type { StateFlag } from '@mailbridge/domain-mail';
import { queryRows } from '@mailbridge/platform-persistence';

/** What we last knew of a synced message's mailbox state (null: not known yet). */
export interface KnownState {
  readonly read: boolean | null;
  readonly trashed: boolean | null;
  readonly deleted: boolean | null;
  /** When the last known change was made (observed or applied). */
  readonly changedAt: Date;
}

/** SYN-7: known mailbox states of synced messages, and which provider ids are synced at all (the ledger). */
@Injectable()
export class MessageStateRepository {
  /**
   * The ids sync-engine synced into the CRM (SYN-10 ledger), and those observed whose outcome has not reached this
   * service yet: the CRM may already show such a message (conversations and this service read sync-engine's events
   * separately), and a change seen now is not seen again. Only their state is ever read into the platform; a message
   * that ends up not synced has no CRM copy, so its state changes nothing there.
   */
  async syncedAmong(db: EntityManager, mailboxId: string, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await queryRows<{ id: string }>(
      db,
      `SELECT provider_message_id AS id FROM mail_gateway.message_ledger
        WHERE mailbox_id = $1 AND provider_message_id = ANY($2::text[]) AND outcome = 'synced'
       UNION
       SELECT o.provider_message_id FROM mail_gateway.observed_messages o
        WHERE o.mailbox_id = $1 AND o.provider_message_id = ANY($2::text[])
          AND NOT EXISTS (SELECT 1 FROM mail_gateway.message_ledger l
                           WHERE l.mailbox_id = o.mailbox_id AND l.provider_message_id = o.provider_message_id
                             AND l.outcome IS NOT NULL)`,
      [mailboxId, ids.map(storableText)],
    );
    return new Set(rows.map((r) => r.id));
  }

  async known(
    db: EntityManager,
    mailboxId: string,
    ids: readonly string[],
  ): Promise<Map<string, KnownState>> {
    const out = new Map<string, KnownState>();
    if (ids.length === 0) return out;
    const rows = await queryRows<{ id: string; changed_at: Date } & Omit<KnownState, 'changedAt'>>(
      db,
      `SELECT provider_message_id AS id, read, trashed, deleted, changed_at FROM mail_gateway.message_states
        WHERE mailbox_id = $1 AND provider_message_id = ANY($2::text[])`,
      [mailboxId, ids.map(storableText)],
    );
    for (const r of rows) {
      out.set(r.id, { read: r.read, trashed: r.trashed, deleted: r.deleted, changedAt: r.changed_at });
    }
    return out;
  }

  /** Stores an observed (or applied) state; flags not given keep their known value. */
  async save(
    db: EntityManager,
    mailboxId: string,
    providerMessageId: string,
    state: Partial<Record<StateFlag, boolean>>,
    changedAt: Date,
    applied = false,
  ): Promise<void> {
    await db.query(
      `INSERT INTO mail_gateway.message_states
         (mailbox_id, provider_message_id, read, trashed, deleted, changed_at, applied_read, applied_at)
       VALUES ($1, $2, $3::boolean, $4::boolean, $5::boolean, $6::timestamptz,
               CASE WHEN $7::boolean THEN $3::boolean END, CASE WHEN $7::boolean THEN $6::timestamptz END)
       ON CONFLICT (mailbox_id, provider_message_id) DO UPDATE SET
         read = COALESCE(EXCLUDED.read, message_states.read),
         trashed = COALESCE(EXCLUDED.trashed, message_states.trashed),
         deleted = COALESCE(EXCLUDED.deleted, message_states.deleted),
         changed_at = EXCLUDED.changed_at,
         applied_read = COALESCE(EXCLUDED.applied_read, message_states.applied_read),
         applied_at = COALESCE(EXCLUDED.applied_at, message_states.applied_at),
         updated_at = now()`,
      [
        mailboxId,
        storableText(providerMessageId),
        state.read ?? null,
        state.trashed ?? null,
        state.deleted ?? null,
        changedAt,
        applied,
      ],
    );
  }
}
