import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type {
  BindingEndReason,
  BindingView,
  KeyAddition,
  KeyMatch,
  NewBinding,
} from '../decisions/decision.types';
import { queryPrepared, queryRows } from '@mailbridge/platform-persistence';

export interface BindingRow {
  binding_id: string;
  mailbox_key: string;
  location_id: string;
  connection_id: string;
  user_id: string;
  contact_id: string;
  conversation_id: string;
  origin_rule: string;
  origin_at?: string | Date | null;
  status: 'active' | 'ended';
  end_reason: BindingEndReason | null;
  contact_deleted?: boolean;
}

export function toBindingView(r: BindingRow): BindingView {
  return {
    bindingId: r.binding_id,
    mailboxKey: r.mailbox_key,
    locationId: r.location_id,
    connectionId: r.connection_id,
    userId: r.user_id,
    contactId: r.contact_id,
    conversationId: r.conversation_id,
    originRule: r.origin_rule,
    originAt: r.origin_at ? new Date(r.origin_at).toISOString() : null,
    status: r.status,
    endReason: r.end_reason,
    ...(r.contact_deleted ? { contactDeleted: true } : {}),
  };
}

export interface ThreadKeyRow {
  readonly mailboxKey: string;
  readonly key: string;
  readonly bindingId: string;
  readonly providerMessageId: string | null;
}

/**
 * Inserts keys from five array parameters starting at `$first`; a repeated key keeps its first provider id and its
 * earliest first_at (LEAST ignores nulls). Returns the keys that are new or changed: only they can change a decision.
 * Times are kept to the millisecond, as the batch path's in-memory view compares them (a difference below it must not
 * wake a parked message in one path and not the other).
 */
const insertKeys = (
  first: number,
) => `INSERT INTO sync_engine.thread_key (mailbox_key, key, binding_id, provider_message_id, first_at)
  SELECT DISTINCT ON (m, k, b) m, k, b, p, min(date_trunc('milliseconds', f)) OVER (PARTITION BY m, k, b)
  FROM unnest($${first}::text[], $${first + 1}::text[], $${first + 2}::uuid[], $${first + 3}::text[],
              $${first + 4}::timestamptz[]) AS u(m, k, b, p, f)
  ORDER BY m, k, b, p NULLS LAST
  ON CONFLICT (mailbox_key, key, binding_id) DO UPDATE
    SET provider_message_id = COALESCE(thread_key.provider_message_id, EXCLUDED.provider_message_id),
        first_at = LEAST(thread_key.first_at, EXCLUDED.first_at)
    WHERE (thread_key.provider_message_id IS NULL AND EXCLUDED.provider_message_id IS NOT NULL)
       OR EXCLUDED.first_at < thread_key.first_at
       OR (thread_key.first_at IS NULL AND EXCLUDED.first_at IS NOT NULL)
  RETURNING mailbox_key, key`;

const INSERT_KEYS = insertKeys(1);

const changedKeys = (rows: Array<{ mailbox_key: string; key: string }>) =>
  rows.map((r) => ({ mailboxKey: r.mailbox_key, key: r.key }));

const BINDING_COLUMNS = `b.binding_id, b.mailbox_key, b.location_id, b.connection_id, b.user_id, b.contact_id,
  b.conversation_id, b.origin_rule, b.origin_at, b.status, b.end_reason`;

/** Thread bindings and their keys. Writes are batched: one statement per table, whatever the number of rows. */
@Injectable()
export class ThreadBindingRepository {
  /**
   * Serialises the changes to one mailbox's bindings across consumers (observed messages, send results, connection
   * events run in parallel): transaction-scoped advisory locks, taken in a fixed order so two never deadlock.
   */
  async lockMailboxes(tx: EntityManager, mailboxKeys: readonly (string | null | undefined)[]): Promise<void> {
    const keys = [...new Set(mailboxKeys.filter((k): k is string => !!k))].sort();
    if (keys.length === 0) return;
    // One round trip for a whole batch (issue 16); unnest yields the sorted array in order, so the order holds.
    await queryPrepared(
      tx,
      `SELECT count(pg_advisory_xact_lock(hashtextextended(k, 7)))
       FROM unnest($1::text[]) AS k`,
      [keys.map((k) => `sync_engine.mailbox:${k}`)],
    );
  }

  /** Bindings found by any of these keys in these mailboxes, and which key found which. */
  async findByKeys(
    tx: EntityManager,
    mailboxKeys: readonly string[],
    keys: readonly string[],
  ): Promise<{ bindings: BindingView[]; keyMatches: KeyMatch[] }> {
    if (mailboxKeys.length === 0 || keys.length === 0) return { bindings: [], keyMatches: [] };
    const rows: Array<BindingRow & { key: string }> = await tx.query(
      `SELECT k.key, ${BINDING_COLUMNS}
       FROM sync_engine.thread_key k JOIN sync_engine.thread_binding b USING (binding_id)
       WHERE k.mailbox_key = ANY($1::text[]) AND k.key = ANY($2::text[])`,
      [mailboxKeys, keys],
    );
    const bindings = new Map<string, BindingView>();
    for (const r of rows) bindings.set(r.binding_id, toBindingView(r));
    return {
      bindings: [...bindings.values()],
      keyMatches: rows.map((r) => ({ key: r.key, bindingId: r.binding_id })),
    };
  }

  /** All keys of these bindings (SND-5: the thread id and the provider ids of a thread's messages). */
  async keysOf(tx: EntityManager, bindingIds: readonly string[]): Promise<ThreadKeyRow[]> {
    if (bindingIds.length === 0) return [];
    const rows: Array<{
      mailbox_key: string;
      key: string;
      binding_id: string;
      provider_message_id: string | null;
    }> = await tx.query(
      `SELECT mailbox_key, key, binding_id, provider_message_id FROM sync_engine.thread_key
         WHERE binding_id = ANY($1::uuid[]) ORDER BY key`,
      [bindingIds],
    );
    return rows.map((r) => ({
      mailboxKey: r.mailbox_key,
      key: r.key,
      bindingId: r.binding_id,
      providerMessageId: r.provider_message_id,
    }));
  }

  /**
   * Creates bindings and adds keys (to new or existing bindings) in one statement. A key already there keeps its
   * provider message id unless it had none; a binding already there (same deterministic id) is left as it is.
   * Returns the keys added or changed (what parked messages wait for).
   */
  async save(
    tx: EntityManager,
    bindings: readonly NewBinding[],
    additions: readonly KeyAddition[] = [],
  ): Promise<Array<{ mailboxKey: string; key: string }>> {
    const keys = [
      ...bindings.map((b) => ({ bindingId: b.bindingId, mailboxKey: b.mailboxKey, keys: b.keys })),
      ...additions,
    ].flatMap((a) =>
      a.keys.map((k) => ({
        mailboxKey: a.mailboxKey,
        key: k.key,
        bindingId: a.bindingId,
        pmid: k.providerMessageId,
        firstAt: k.firstAt ?? null,
      })),
    );
    if (bindings.length === 0 && keys.length === 0) return [];
    const keyParams = [
      keys.map((k) => k.mailboxKey),
      keys.map((k) => k.key),
      keys.map((k) => k.bindingId),
      keys.map((k) => k.pmid),
      keys.map((k) => k.firstAt),
    ];
    if (bindings.length === 0) {
      // The common case (a message joins a known thread): keys only, a simpler statement.
      return changedKeys(await queryPrepared(tx, INSERT_KEYS, keyParams));
    }
    // Both statements of fixed text, prepared: they only insert from their arrays (no plan to go stale, issue 16).
    const rows = await queryPrepared<Array<{ mailbox_key: string; key: string }>>(
      tx,
      `WITH new_bindings AS (
         INSERT INTO sync_engine.thread_binding
           (binding_id, mailbox_key, location_id, connection_id, user_id, contact_id, conversation_id, origin_rule,
            origin_at, status)
         SELECT *, 'active' FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::text[],
                                         $7::uuid[], $8::text[], $9::timestamptz[])
         ON CONFLICT (binding_id) DO NOTHING
       )
       ${insertKeys(10)}`,
      [
        bindings.map((b) => b.bindingId),
        bindings.map((b) => b.mailboxKey),
        bindings.map((b) => b.locationId),
        bindings.map((b) => b.connectionId),
        bindings.map((b) => b.userId),
        bindings.map((b) => b.contactId),
        bindings.map((b) => b.conversationId),
        bindings.map((b) => b.originRule),
        bindings.map((b) => b.originAt ?? null),
        ...keyParams,
      ],
    );
    return changedKeys(rows);
  }

  /** CON-3 / CON-4: every active binding of the connection ends. Returns how many. */
  async endForConnection(tx: EntityManager, connectionId: string, reason: BindingEndReason): Promise<number> {
    const rows = await queryRows(
      tx,
      `UPDATE sync_engine.thread_binding SET status = 'ended', end_reason = $2, ended_at = now()
       WHERE connection_id = $1 AND status = 'active' RETURNING binding_id`,
      [connectionId, reason],
    );
    return rows.length;
  }

  /**
   * SYN-4 retain-on-reply: the user replied from one location, so the thread's active bindings in the other locations
   * (same mailbox, found by the thread's keys) end. Returns the ended binding ids.
   */
  async endElsewhere(
    tx: EntityManager,
    mailboxKey: string,
    keys: readonly string[],
    keepLocationId: string,
  ): Promise<string[]> {
    if (keys.length === 0) return [];
    const rows = await queryRows<{ binding_id: string }>(
      tx,
      `UPDATE sync_engine.thread_binding SET status = 'ended', end_reason = 'rebound_elsewhere', ended_at = now()
       WHERE status = 'active' AND mailbox_key = $1 AND location_id <> $3
         AND binding_id IN (SELECT binding_id FROM sync_engine.thread_key WHERE mailbox_key = $1 AND key = ANY($2::text[]))
       RETURNING binding_id`,
      [mailboxKey, keys, keepLocationId],
    );
    return rows.map((r) => r.binding_id);
  }

  /**
   * SYN-4 undo: a reply that moved its thread here at routing failed to go out, so the bindings it ended elsewhere are
   * active again, unless another live send keeps the move: one of the same binding (`ownBindingId`), or a later reply
   * from elsewhere that ended that binding or the same ones. Returns the restored binding ids.
   */
  async restoreEnded(
    tx: EntityManager,
    bindingIds: readonly string[],
    failedSendId: string,
    ownBindingId: string,
  ): Promise<string[]> {
    if (bindingIds.length === 0) return [];
    const rows = await queryRows<{ binding_id: string }>(
      tx,
      `UPDATE sync_engine.thread_binding SET status = 'active', end_reason = NULL, ended_at = NULL
       WHERE binding_id = ANY($1::uuid[]) AND status = 'ended' AND end_reason = 'rebound_elsewhere'
         AND NOT EXISTS (SELECT 1 FROM sync_engine.crm_send s
                          WHERE s.send_id <> $2 AND s.status IN ('requested', 'succeeded')
                            -- another live reply from the same binding, or a later reply that moved the thread again
                            AND (s.binding_id = $3 OR $3 = ANY(s.ended_binding_ids)
                                 OR s.ended_binding_ids && $1::uuid[]))
       RETURNING binding_id`,
      [bindingIds, failedSendId, ownBindingId],
    );
    return rows.map((r) => r.binding_id);
  }

  /** Inspection: the bindings of a location's conversation, or found by a thread key of a mailbox. */
  async list(
    tx: EntityManager,
    where: { locationId: string; conversationId?: string },
    limit: number,
  ): Promise<Array<BindingView & { keys: string[] }>> {
    const rows: Array<BindingRow & { keys: string[] }> = await tx.query(
      `SELECT ${BINDING_COLUMNS}, coalesce(array_agg(k.key ORDER BY k.key) FILTER (WHERE k.key IS NOT NULL), '{}') AS keys
       FROM sync_engine.thread_binding b LEFT JOIN sync_engine.thread_key k USING (binding_id)
       WHERE b.location_id = $1 AND ($2::uuid IS NULL OR b.conversation_id = $2::uuid)
       GROUP BY b.binding_id ORDER BY b.created_at, b.binding_id LIMIT $3`,
      [where.locationId, where.conversationId ?? null, limit],
    );
    return rows.map((r) => ({ ...toBindingView(r), keys: r.keys }));
  }
}
