import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { storableText } from '@mailbridge/contracts';
import { queryRows } from '@mailbridge/platform-persistence';

export type LedgerOutcome = 'synced' | 'not_synced' | 'skipped' | 'quarantined';

export interface LedgerDecision {
  readonly mailboxKey: string;
  readonly providerMessageId: string;
  readonly outcome: Exclude<LedgerOutcome, 'quarantined'>;
  readonly rule: string;
  readonly reason: string | null;
  readonly conversations: number;
}

/** What the ledger and the observed ids say about one listed provider message. */
export interface LedgerEntry {
  readonly outcome: LedgerOutcome | null;
  readonly redriven: boolean;
  readonly observedAt: Date | null;
}

/** The latest audit of a mailbox as stored (the report of mailbox-audit.service.ts). */
export interface StoredAudit {
  readonly checkedAt: Date | null;
  readonly report: Record<string, unknown> | null;
}

/**
 * SYN-10: the ledger of outcomes (one terminal outcome per provider message of a mailbox: ids and codes only) and
 * the latest audit report per mailbox. Rows expire with the observed ids (retentionRulesOf).
 */
@Injectable()
export class MessageLedgerRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** sync-engine's decision (message.decided); the mailbox is found by key. A later decision replaces an earlier one. */
  async recordDecision(db: EntityManager, d: LedgerDecision): Promise<void> {
    await db.query(
      `INSERT INTO mail_gateway.message_ledger
         (mailbox_id, provider_message_id, outcome, rule, reason, conversations)
       SELECT m.id, $2, $3, $4, $5, $6 FROM mail_gateway.mailboxes m WHERE m.mailbox_key = $1
       ON CONFLICT (mailbox_id, provider_message_id) DO UPDATE SET
         outcome = EXCLUDED.outcome, rule = EXCLUDED.rule, reason = EXCLUDED.reason,
         conversations = EXCLUDED.conversations, recorded_at = now()`,
      [d.mailboxKey, d.providerMessageId, d.outcome, d.rule, d.reason, d.conversations],
    );
  }

  /**
   * recordDecision for a batch, in one statement (issue 16). In log order a later decision of the same message
   * replaces an earlier one, so only the last of each is written (one statement cannot update a row twice).
   */
  async recordDecisions(db: EntityManager, decisions: readonly LedgerDecision[]): Promise<void> {
    const last = new Map<string, LedgerDecision>();
    for (const d of decisions) last.set(JSON.stringify([d.mailboxKey, d.providerMessageId]), d);
    const rows = [...last.values()];
    if (rows.length === 0) return;
    await db.query(
      `INSERT INTO mail_gateway.message_ledger
         (mailbox_id, provider_message_id, outcome, rule, reason, conversations)
       SELECT m.id, d.provider_message_id, d.outcome, d.rule, d.reason, d.conversations
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[])
              AS d(mailbox_key, provider_message_id, outcome, rule, reason, conversations)
         JOIN mail_gateway.mailboxes m ON m.mailbox_key = d.mailbox_key
        ORDER BY m.id, d.provider_message_id -- rows locked in one order: concurrent batches cannot deadlock
       ON CONFLICT (mailbox_id, provider_message_id) DO UPDATE SET
         outcome = EXCLUDED.outcome, rule = EXCLUDED.rule, reason = EXCLUDED.reason,
         conversations = EXCLUDED.conversations, recorded_at = now()`,
      [
        rows.map((d) => d.mailboxKey),
        rows.map((d) => d.providerMessageId),
        rows.map((d) => d.outcome),
        rows.map((d) => d.rule),
        rows.map((d) => d.reason),
        rows.map((d) => d.conversations),
      ],
    );
  }

  /**
   * A terminal outcome decided by mail-gateway itself: quarantined by a pull, or out of scope when fetched (not in
   * Inbox/Sent any more, before the start point). Never overwrites a decision of sync-engine.
   */
  async recordOwn(
    db: EntityManager,
    mailboxId: string,
    providerMessageId: string,
    outcome: 'quarantined' | 'not_synced',
    rule: string,
    reason: string,
  ): Promise<void> {
    await db.query(
      `INSERT INTO mail_gateway.message_ledger (mailbox_id, provider_message_id, outcome, rule, reason)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (mailbox_id, provider_message_id) DO UPDATE SET
         outcome = EXCLUDED.outcome, rule = EXCLUDED.rule, reason = EXCLUDED.reason, recorded_at = now()
       WHERE message_ledger.outcome IS NULL OR message_ledger.outcome = 'quarantined'`,
      [mailboxId, storableText(providerMessageId), outcome, rule.slice(0, 16), reason.slice(0, 200)],
    );
  }

  /** Marks ids an audit re-drives (an outcome that arrives later keeps the mark: the report counts them healed). */
  async markRedriven(db: EntityManager, mailboxId: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await db.query(
      `INSERT INTO mail_gateway.message_ledger (mailbox_id, provider_message_id, redriven_at)
       SELECT $1, unnest($2::text[]), now()
       ON CONFLICT (mailbox_id, provider_message_id) DO UPDATE SET redriven_at = now()`,
      [mailboxId, ids.map(storableText)],
    );
  }

  /** One indexed query for the listed ids: their outcome (if any), re-drive mark and observation time. */
  async entries(mailboxId: string, ids: readonly string[]): Promise<Map<string, LedgerEntry>> {
    const result = new Map<string, LedgerEntry>();
    if (ids.length === 0) return result;
    const rows = await queryRows<{
      id: string;
      outcome: LedgerOutcome | null;
      redriven_at: Date | null;
      observed_at: Date | null;
    }>(
      this.dataSource,
      `SELECT i.id, l.outcome, l.redriven_at, o.observed_at
         FROM unnest($2::text[]) AS i(id)
         LEFT JOIN mail_gateway.message_ledger l ON l.mailbox_id = $1 AND l.provider_message_id = i.id
         LEFT JOIN mail_gateway.observed_messages o ON o.mailbox_id = $1 AND o.provider_message_id = i.id
        WHERE l.provider_message_id IS NOT NULL OR o.provider_message_id IS NOT NULL`,
      [mailboxId, ids.map(storableText)],
    );
    for (const r of rows) {
      result.set(r.id, { outcome: r.outcome, redriven: !!r.redriven_at, observedAt: r.observed_at });
    }
    return result;
  }

  /**
   * Claims a scheduled audit of a mailbox: true when none started within `intervalMinutes` (atomic, so replicas
   * never audit one mailbox twice in a round).
   */
  async claim(mailboxId: string, intervalMinutes: number): Promise<boolean> {
    const rows = await queryRows<{ mailbox_id: string }>(
      this.dataSource,
      `INSERT INTO mail_gateway.mailbox_audits (mailbox_id) VALUES ($1)
       ON CONFLICT (mailbox_id) DO UPDATE SET started_at = now()
         WHERE mailbox_audits.started_at <= now() - make_interval(mins => $2)
       RETURNING mailbox_id`,
      [mailboxId, intervalMinutes],
    );
    return rows.length > 0;
  }

  /** Active mailboxes whose audit is due (none started within the interval), oldest audit first. */
  async dueForAudit(intervalMinutes: number, limit: number): Promise<string[]> {
    const rows = await queryRows<{ id: string }>(
      this.dataSource,
      `SELECT m.id FROM mail_gateway.mailboxes m
         LEFT JOIN mail_gateway.mailbox_audits a ON a.mailbox_id = m.id
        WHERE m.desired = 'active' AND m.stage <> 'stopped'
          AND (a.started_at IS NULL OR a.started_at <= now() - make_interval(mins => $1))
        ORDER BY a.started_at NULLS FIRST
        LIMIT $2`,
      [intervalMinutes, limit],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Stores the mailbox's latest report (one statement); answers the previous report's status and when the
   * mailbox's report was last announced, so an unchanged idle audit need not be announced again.
   */
  async saveReport(
    mailboxId: string,
    report: { checkedAt: string; status: string },
  ): Promise<{ previousStatus: string | null; announcedAt: Date | null }> {
    const rows = await queryRows<{ previous_status: string | null; announced_at: Date | null }>(
      this.dataSource,
      `WITH prev AS (
         SELECT report->>'status' AS status, announced_at FROM mail_gateway.mailbox_audits WHERE mailbox_id = $1)
       INSERT INTO mail_gateway.mailbox_audits (mailbox_id, checked_at, report) VALUES ($1, $2, $3)
       ON CONFLICT (mailbox_id) DO UPDATE SET checked_at = EXCLUDED.checked_at, report = EXCLUDED.report
       RETURNING (SELECT status FROM prev) AS previous_status, (SELECT announced_at FROM prev) AS announced_at`,
      [mailboxId, report.checkedAt, JSON.stringify(report)],
    );
    return { previousStatus: rows[0]?.previous_status ?? null, announcedAt: rows[0]?.announced_at ?? null };
  }

  async markAnnounced(db: EntityManager, mailboxId: string, at: string): Promise<void> {
    await db.query(`UPDATE mail_gateway.mailbox_audits SET announced_at = $2 WHERE mailbox_id = $1`, [
      mailboxId,
      at,
    ]);
  }

  async latest(mailboxId: string): Promise<StoredAudit | undefined> {
    const rows = await queryRows<{ checked_at: Date | null; report: Record<string, unknown> | null }>(
      this.dataSource,
      `SELECT checked_at, report FROM mail_gateway.mailbox_audits WHERE mailbox_id = $1`,
      [mailboxId],
    );
    return rows[0] ? { checkedAt: rows[0].checked_at, report: rows[0].report } : undefined;
  }
}
