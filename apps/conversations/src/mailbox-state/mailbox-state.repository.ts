import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { MailboxStateRegisters } from '@mailbridge/domain-mail';

/** A message as a CRM read/unread change needs it: where it lives in which mailbox, and its state. */
export interface StateTarget {
  readonly messageId: string;
  readonly providerMessageId: string | null;
  readonly connectionId: string | null;
  /** The mailbox it was synced from or sent through (its connection's), null when it is in none. */
  readonly mailboxKey: string | null;
  readonly mailboxState: MailboxStateRegisters | null;
}

export interface StateChangeFailure {
  readonly locationId: string;
  readonly sourceEventId: string;
  readonly connectionId: string | null;
  readonly mailboxKey: string;
  readonly messageId: string;
  readonly providerMessageId: string;
  readonly reason: string;
  readonly detail: string;
  readonly occurredAt: Date;
}

/** Rows of a SELECT (TypeORM's Postgres driver answers a SELECT with its rows). */
const select = async <T>(tx: EntityManager, sql: string, params: unknown[]): Promise<T[]> =>
  (await tx.query(sql, params)) as T[];

/** SYN-7: the mailbox state of messages (a jsonb register per flag), read and written under a row lock. */
@Injectable()
export class MailboxStateRepository {
  /**
   * The CRM copies of one mailbox message synced through one of the mailbox's current connections, locked for the
   * merge. A copy synced through a connection that has since ended is left alone: its thread no longer syncs (CON-4).
   */
  async lockMailboxCopies(
    tx: EntityManager,
    provider: string,
    providerMessageId: string,
    connections: ReadonlyArray<{ readonly connectionId: string; readonly locationId: string }>,
  ): Promise<{ locationId: string; messageId: string; mailboxState: MailboxStateRegisters | null }[]> {
    if (connections.length === 0) return [];
    const locationIds = connections.map((c) => c.locationId);
    const rows = await select<{
      location_id: string;
      message_id: string;
      mailbox_state: MailboxStateRegisters | null;
    }>(
      tx,
      `SELECT location_id, message_id, mailbox_state FROM conversations.messages
        WHERE provider = $1 AND provider_message_id = $2 AND location_id = ANY($3::text[])
          AND connection_id::text = ANY($4::text[])
        ORDER BY location_id, message_id FOR UPDATE`,
      [provider, providerMessageId, [...new Set(locationIds)], connections.map((c) => c.connectionId)],
    );
    return rows.map((r) => ({
      locationId: r.location_id,
      messageId: r.message_id,
      mailboxState: r.mailbox_state,
    }));
  }

  /** Messages of a location (by id, or all of a conversation), locked, with the mailbox each lives in. */
  async lockTargets(
    tx: EntityManager,
    locationId: string,
    where: { messageId: string } | { conversationId: string },
  ): Promise<StateTarget[]> {
    const byMessage = 'messageId' in where;
    const rows = await select<{
      message_id: string;
      provider_message_id: string | null;
      connection_id: string | null;
      mailbox_key: string | null;
      mailbox_state: MailboxStateRegisters | null;
    }>(
      tx,
      `SELECT m.message_id, m.provider_message_id, m.connection_id,
              COALESCE(c.mailbox_key, m.mailbox_key) AS mailbox_key, m.mailbox_state
         FROM conversations.messages m
         LEFT JOIN conversations.connections c ON c.connection_id = m.connection_id
        WHERE m.location_id = $1 AND ${byMessage ? 'm.message_id = $2::uuid' : 'm.conversation_id = $2::uuid'}
        ORDER BY m.message_id FOR UPDATE OF m`,
      [locationId, byMessage ? where.messageId : where.conversationId],
    );
    return rows.map((r) => ({
      messageId: r.message_id,
      providerMessageId: r.provider_message_id,
      connectionId: r.connection_id,
      mailboxKey: r.provider_message_id ? r.mailbox_key : null,
      mailboxState: r.mailbox_state,
    }));
  }

  async saveState(
    tx: EntityManager,
    locationId: string,
    messageId: string,
    state: MailboxStateRegisters,
  ): Promise<void> {
    await tx.query(
      `UPDATE conversations.messages SET mailbox_state = $3::jsonb, updated_at = now()
        WHERE location_id = $1 AND message_id = $2`,
      [locationId, messageId, JSON.stringify(state)],
    );
  }

  async recordFailure(tx: EntityManager, f: StateChangeFailure): Promise<void> {
    await tx.query(
      `INSERT INTO conversations.sync_events
         (location_id, sync_event_id, kind, reason, rule, detail, connection_id, mailbox_key, message_id,
          provider_message_id, occurred_at, source_event_id, created_at)
       VALUES ($1, $2, 'state_change_failed', $3, 'SYN-7', $4, $5, $6, $7, $8, $9, $10, now())`,
      [
        f.locationId,
        randomUUID(),
        f.reason,
        f.detail,
        f.connectionId,
        f.mailboxKey,
        f.messageId,
        f.providerMessageId,
        f.occurredAt,
        f.sourceEventId,
      ],
    );
  }
}
