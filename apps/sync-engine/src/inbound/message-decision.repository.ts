import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { ObservedDecision, ObservedMessage } from '../decisions/decision.types';
import { queryPrepared, queryRows } from '@mailbridge/platform-persistence';

/** What a repeat needs of a stored decision to announce it again. */
export interface StoredDecision {
  readonly outcome: string;
  readonly rules: readonly string[];
  readonly deliveries: ReadonlyArray<{ readonly rule?: string }>;
  readonly skips: ReadonlyArray<{
    readonly reason?: string;
    readonly rule?: string;
    readonly publish?: boolean;
  }>;
}

export interface DecisionToRecord {
  readonly eventId: string;
  readonly observed: ObservedMessage;
  readonly decision: ObservedDecision;
}

export interface ParkedMessage {
  readonly eventId: string;
  readonly observed: ObservedMessage;
  readonly parkedAt: string;
}

/** Decisions (explainability, SYN-5 repeats), parked messages (SYN-6 out-of-order), learned smart-BCC addresses. */
@Injectable()
export class MessageDecisionRepository {
  /** Records (or, for a parked message decided again, replaces) the decision for a message of a mailbox. */
  async record(
    tx: EntityManager,
    eventId: string,
    observed: ObservedMessage,
    decision: ObservedDecision,
  ): Promise<void> {
    await this.recordMany(tx, [{ eventId, observed, decision }]);
  }

  /** Issue 16: the decisions of a batch in one statement (each message once: a batch's repeats are counted instead). */
  async recordMany(tx: EntityManager, rows: readonly DecisionToRecord[]): Promise<void> {
    if (rows.length === 0) return;
    const col = <T>(f: (r: DecisionToRecord) => T) => rows.map(f);
    // Fixed text, prepared (issue 16): an insert from its arrays, no plan to go stale.
    await queryPrepared(
      tx,
      `INSERT INTO sync_engine.message_decision
         (mailbox_key, provider_message_id, rfc_message_id, event_id, source, direction, outcome, rules, deliveries,
          skips, trace)
       SELECT m, p, r, e::uuid, s, d, o, ARRAY(SELECT jsonb_array_elements_text(ru)), dl, sk, tr
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[],
                   $9::jsonb[], $10::jsonb[], $11::jsonb[]) AS u(m, p, r, e, s, d, o, ru, dl, sk, tr)
       ON CONFLICT (mailbox_key, provider_message_id) DO UPDATE SET
         event_id = EXCLUDED.event_id, outcome = EXCLUDED.outcome, rules = EXCLUDED.rules,
         deliveries = EXCLUDED.deliveries, skips = EXCLUDED.skips,
         trace = message_decision.trace || EXCLUDED.trace, decided_at = now()`,
      [
        col((r) => r.observed.mailboxKey),
        col((r) => r.observed.message.providerMessageId),
        col((r) => r.observed.message.rfcMessageId),
        col((r) => r.eventId),
        col((r) => r.observed.source),
        col((r) => r.observed.direction),
        col((r) => (r.decision.park ? 'parked' : r.decision.outcome)),
        col((r) => JSON.stringify(r.decision.rules)),
        col((r) =>
          JSON.stringify(
            r.decision.deliveries.map((d) => ({
              deliveryId: d.deliveryId,
              locationId: d.locationId,
              contactId: d.contactId,
              conversationId: d.conversationId,
              connectionId: d.connectionId,
              direction: d.direction,
              source: d.source,
              rule: d.rule,
              bindingId: d.bindingId,
            })),
          ),
        ),
        col((r) => JSON.stringify(r.decision.skips)),
        col((r) => JSON.stringify(r.decision.trace)),
      ],
    );
  }

  /** Issue 16: SYN-5 repeats of a batch, counted in one statement (the outcomes were read with the batch's context). */
  async countRepeats(
    tx: EntityManager,
    repeats: ReadonlyArray<{ mailboxKey: string; providerMessageId: string }>,
  ): Promise<void> {
    if (repeats.length === 0) return;
    await tx.query(
      `UPDATE sync_engine.message_decision d SET repeats = d.repeats + u.n
       FROM (SELECT m, p, count(*)::int AS n FROM unnest($1::text[], $2::text[]) AS x(m, p) GROUP BY m, p) u
       WHERE d.mailbox_key = u.m AND d.provider_message_id = u.p`,
      [repeats.map((r) => r.mailboxKey), repeats.map((r) => r.providerMessageId)],
    );
  }

  /** Issue 16: a batch's parked messages in one statement (first parked wins, as one at a time). */
  async parkMany(
    tx: EntityManager,
    rows: ReadonlyArray<{ eventId: string; observed: ObservedMessage; keys: readonly string[] }>,
  ): Promise<void> {
    if (rows.length === 0) return;
    await tx.query(
      `INSERT INTO sync_engine.parked_message (mailbox_key, provider_message_id, keys, event_id, observed, parked_at)
       SELECT DISTINCT ON (m, p) m, p, ARRAY(SELECT jsonb_array_elements_text(k)), e::uuid, o, now()
       FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::text[], $5::jsonb[]) WITH ORDINALITY AS u(m, p, k, e, o, n)
       ORDER BY m, p, n
       ON CONFLICT (mailbox_key, provider_message_id) DO NOTHING`,
      [
        rows.map((r) => r.observed.mailboxKey),
        rows.map((r) => r.observed.message.providerMessageId),
        rows.map((r) => JSON.stringify(r.keys)),
        rows.map((r) => r.eventId),
        rows.map((r) => JSON.stringify(r.observed)),
      ],
    );
  }

  /** Issue 16: smart-BCC addresses a batch learned, in one statement (the first learned wins). */
  async learnSmartBccMany(
    tx: EntityManager,
    rows: ReadonlyArray<{ address: string; locationId: string; userId: string }>,
  ): Promise<void> {
    if (rows.length === 0) return;
    await tx.query(
      `INSERT INTO sync_engine.smart_bcc_address (address, location_id, user_id)
       SELECT DISTINCT ON (a) a, l, us FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS u(a, l, us, n)
       ORDER BY a, n
       ON CONFLICT (address) DO NOTHING`,
      [rows.map((r) => r.address), rows.map((r) => r.locationId), rows.map((r) => r.userId)],
    );
  }

  /**
   * SYN-5: the same message observed again (push + poll, a re-emitted event): counted, nothing else. Returns the
   * stored decision's outcome, so the ledger (SYN-10) can be told it again.
   */
  async countRepeat(
    tx: EntityManager,
    mailboxKey: string,
    providerMessageId: string,
  ): Promise<StoredDecision | undefined> {
    const rows = await queryRows<{
      outcome: string;
      rules: string[];
      deliveries: Array<{ rule?: string }>;
      skips: Array<{ reason?: string; rule?: string; publish?: boolean }>;
    }>(
      tx,
      `UPDATE sync_engine.message_decision SET repeats = repeats + 1
       WHERE mailbox_key = $1 AND provider_message_id = $2
       RETURNING outcome, rules, deliveries, skips`,
      [mailboxKey, providerMessageId],
    );
    return rows[0];
  }

  /** `parkedAt`: when it was first parked, for a message parked again after a second look (retention counts from it). */
  async park(
    tx: EntityManager,
    eventId: string,
    observed: ObservedMessage,
    keys: readonly string[],
    parkedAt: string | null = null,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO sync_engine.parked_message (mailbox_key, provider_message_id, keys, event_id, observed, parked_at)
       VALUES ($1, $2, $3, $4, $5, coalesce($6::timestamptz, now()))
       ON CONFLICT (mailbox_key, provider_message_id) DO NOTHING`,
      [
        observed.mailboxKey,
        observed.message.providerMessageId,
        keys,
        eventId,
        JSON.stringify(observed),
        parkedAt,
      ],
    );
  }

  /**
   * Takes (deletes and returns) the parked messages of these mailboxes that one of these keys may now bind. Oldest
   * first, so a thread is replayed in the order it was observed. One parked longer than the retention is never
   * decided again (the retention job deletes it).
   */
  async takeParked(
    tx: EntityManager,
    mailboxKeys: readonly string[],
    keys: readonly string[],
    limit: number,
    retentionHours: number,
  ): Promise<ParkedMessage[]> {
    if (mailboxKeys.length === 0 || keys.length === 0) return [];
    const rows = await queryRows<{
      event_id: string;
      observed: ObservedMessage;
      parked_at: Date | string;
    }>(
      tx,
      `DELETE FROM sync_engine.parked_message p
       WHERE (p.mailbox_key, p.provider_message_id) IN (
         SELECT mailbox_key, provider_message_id FROM sync_engine.parked_message
         WHERE mailbox_key = ANY($1::text[]) AND keys && $2::text[]
           AND parked_at >= now() - make_interval(hours => $4::int)
         ORDER BY parked_at, provider_message_id LIMIT $3)
       RETURNING p.event_id, p.observed, p.parked_at, p.provider_message_id`,
      [mailboxKeys, keys, limit, retentionHours],
    );
    return rows.map((r) => ({
      eventId: r.event_id,
      observed: r.observed,
      parkedAt: new Date(r.parked_at).toISOString(),
    }));
  }

  async learnSmartBcc(tx: EntityManager, address: string, locationId: string, userId: string): Promise<void> {
    await tx.query(
      `INSERT INTO sync_engine.smart_bcc_address (address, location_id, user_id) VALUES ($1, $2, $3)
       ON CONFLICT (address) DO NOTHING`,
      [address, locationId, userId],
    );
  }

  /** Inspection: decisions for a provider message id or an RFC Message-ID, in any mailbox. */
  async find(tx: EntityManager, messageId: string, limit: number): Promise<Array<Record<string, unknown>>> {
    return tx.query(
      `SELECT mailbox_key AS "mailboxKey", provider_message_id AS "providerMessageId",
              rfc_message_id AS "rfcMessageId", event_id AS "eventId", source, direction, outcome, rules, deliveries,
              skips, trace, repeats, decided_at AS "decidedAt"
       FROM sync_engine.message_decision
       WHERE provider_message_id = $1 OR rfc_message_id = $1
       ORDER BY decided_at, mailbox_key LIMIT $2`,
      [messageId, limit],
    );
  }
}
