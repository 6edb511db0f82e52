import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { queryRows } from '@mailbridge/platform-persistence';

type Db = Pick<EntityManager | DataSource, 'query'>;

export interface MessageFailure {
  readonly id: string;
  readonly mailboxId: string;
  readonly providerMessageId: string;
  readonly stage: string;
  readonly errorClass: string;
  readonly errorMessage: string;
  readonly attempts: number;
  /** What the pull knew of the message besides its id (Graph: folder, conversation, received time). */
  readonly context: Record<string, unknown> | null;
  readonly firstFailedAt: Date;
  readonly lastFailedAt: Date;
  readonly quarantinedAt: Date | null;
  readonly resolvedAt: Date | null;
}

interface Row {
  id: string;
  mailbox_id: string;
  provider_message_id: string;
  stage: string;
  error_class: string;
  error_message: string;
  attempts: number;
  context: Record<string, unknown> | null;
  first_failed_at: Date;
  last_failed_at: Date;
  quarantined_at: Date | null;
  resolved_at: Date | null;
}

const toFailure = (r: Row): MessageFailure => ({
  id: r.id,
  mailboxId: r.mailbox_id,
  providerMessageId: r.provider_message_id,
  stage: r.stage,
  errorClass: r.error_class,
  errorMessage: r.error_message,
  attempts: r.attempts,
  context: r.context,
  firstFailedAt: r.first_failed_at,
  lastFailedAt: r.last_failed_at,
  quarantinedAt: r.quarantined_at,
  resolvedAt: r.resolved_at,
});

/** Failed attempts of single messages, counted durably across pulls, and the quarantine they end in (SYN-10). */
@Injectable()
export class MessageFailuresRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Counts one more failed attempt (a resolved record starts over); returns the record as it now is. */
  async recordAttempt(
    db: Db,
    input: {
      mailboxId: string;
      providerMessageId: string;
      stage: string;
      errorClass: string;
      errorMessage: string;
      context?: Record<string, unknown>;
    },
  ): Promise<MessageFailure> {
    const rows = await queryRows<Row>(
      db,
      `INSERT INTO mail_gateway.message_failures
         (id, mailbox_id, provider_message_id, stage, error_class, error_message, attempts, context)
       VALUES ($1, $2, $3, $4, $5, $6, 1, $7::jsonb)
       ON CONFLICT (mailbox_id, provider_message_id) DO UPDATE SET
         stage = EXCLUDED.stage, error_class = EXCLUDED.error_class, error_message = EXCLUDED.error_message,
         context = coalesce(EXCLUDED.context, message_failures.context), last_failed_at = now(),
         attempts = CASE WHEN message_failures.resolved_at IS NULL THEN message_failures.attempts + 1 ELSE 1 END,
         quarantined_at = CASE WHEN message_failures.resolved_at IS NULL THEN message_failures.quarantined_at END,
         resolved_at = NULL
       RETURNING *`,
      [
        randomUUID(),
        input.mailboxId,
        input.providerMessageId,
        input.stage,
        input.errorClass.slice(0, 200),
        input.errorMessage.slice(0, 1000),
        input.context ? JSON.stringify(input.context) : null,
      ],
    );
    return toFailure(rows[0]);
  }

  async markQuarantined(db: Db, id: string): Promise<Date> {
    const rows = await queryRows<{ quarantined_at: Date }>(
      db,
      `UPDATE mail_gateway.message_failures SET quarantined_at = coalesce(quarantined_at, now())
        WHERE id = $1 RETURNING quarantined_at`,
      [id],
    );
    return rows[0].quarantined_at;
  }

  /** The message went through after all: its failures are history. */
  async resolve(db: Db, mailboxId: string, providerMessageIds: readonly string[]): Promise<void> {
    if (providerMessageIds.length === 0) return;
    await db.query(
      `UPDATE mail_gateway.message_failures SET resolved_at = now()
        WHERE mailbox_id = $1 AND provider_message_id = ANY($2::text[]) AND resolved_at IS NULL`,
      [mailboxId, [...providerMessageIds]],
    );
  }

  async findById(id: string, db: Db = this.dataSource): Promise<MessageFailure | null> {
    const rows = await queryRows<Row>(db, `SELECT * FROM mail_gateway.message_failures WHERE id = $1`, [id]);
    return rows[0] ? toFailure(rows[0]) : null;
  }

  /** Quarantined messages, newest first (resolved ones too when asked). */
  async listQuarantined(input: {
    mailboxId?: string;
    includeResolved: boolean;
    limit: number;
  }): Promise<MessageFailure[]> {
    const rows = await queryRows<Row>(
      this.dataSource,
      `SELECT * FROM mail_gateway.message_failures
        WHERE quarantined_at IS NOT NULL
          AND ($1::uuid IS NULL OR mailbox_id = $1)
          AND ($2::boolean OR resolved_at IS NULL)
        ORDER BY quarantined_at DESC, id
        LIMIT $3`,
      [input.mailboxId ?? null, input.includeResolved, input.limit],
    );
    return rows.map(toFailure);
  }
}
