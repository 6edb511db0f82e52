import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { SEND_KINDS, countsTowardSendingCap, type SendingCapUsage } from '@mailbridge/domain-mail';
import { SendLogEntity, type SendState } from './send-log.entity';
import { queryRows } from '@mailbridge/platform-persistence';

export interface NewSendLog {
  readonly sendId: string;
  readonly locationId: string;
  readonly route: 'mailbox' | 'location_provider';
  readonly mailboxKey: string | null;
  readonly connectionId: string | null;
  readonly kind: string;
  readonly state: SendState;
  readonly rfcMessageId: string;
  readonly errorCode?: string;
  readonly errorMessage?: string;
}

export interface SentOutcome {
  readonly providerMessageId: string | null;
  readonly providerThreadId: string | null;
  readonly providerRfcMessageId: string;
}

/** The send log (SND-6) and the rolling sending-cap counts (SND-4). */
@Injectable()
export class SendLogRepository {
  /** The row, locked until the transaction ends: redeliveries of one send are handled one at a time. */
  async lock(tx: EntityManager, sendId: string): Promise<SendLogEntity | null> {
    return tx
      .getRepository(SendLogEntity)
      .createQueryBuilder('s')
      .setLock('pessimistic_write')
      .where('s.send_id = :sendId', { sendId })
      .getOne();
  }

  async insert(tx: EntityManager, row: NewSendLog): Promise<void> {
    await tx.query(
      `INSERT INTO mail_gateway.send_log
         (send_id, location_id, route, mailbox_key, connection_id, kind, state, attempts, rfc_message_id,
          error_code, error_message)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10)`,
      [
        row.sendId,
        row.locationId,
        row.route,
        row.mailboxKey,
        row.connectionId,
        row.kind,
        row.state,
        row.rfcMessageId,
        row.errorCode ?? null,
        row.errorMessage ?? null,
      ],
    );
  }

  /**
   * SND-4: the sends through this mailbox in the last 24 hours that count toward its cap (`countsTowardSendingCap`:
   * individual email; bulk mail through an Outlook mailbox does not count) and went out or may have, with the
   * `cap`-th most recent of them (its slot opens next).
   */
  async capUsage(tx: EntityManager, mailboxKey: string, cap: number): Promise<SendingCapUsage> {
    // One counter per mailbox at a time: concurrent sends of different connections to one mailbox serialise here.
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('mail_gateway.send_cap:' || $1))`, [mailboxKey]);
    const kinds = SEND_KINDS.filter((kind) => countsTowardSendingCap(kind, 'mailbox'));
    const rows = await queryRows<{ count: string; nth: Date | null }>(
      tx,
      `SELECT count(*) AS count, (array_agg(created_at ORDER BY created_at DESC))[$3] AS nth
         FROM mail_gateway.send_log
        WHERE route = 'mailbox' AND mailbox_key = $1 AND kind = ANY($2) AND state IN ('sending', 'sent')
          AND created_at > now() - interval '24 hours'`,
      [mailboxKey, kinds, Math.max(cap, 1)],
    );
    return { sentInWindow: Number(rows[0]?.count ?? 0), capthMostRecentAt: rows[0]?.nth ?? null };
  }

  async beginAttempt(tx: EntityManager, sendId: string): Promise<void> {
    await tx.query(
      `UPDATE mail_gateway.send_log SET state = 'sending', attempts = attempts + 1, updated_at = now()
        WHERE send_id = $1`,
      [sendId],
    );
  }

  async setState(
    tx: EntityManager,
    sendId: string,
    state: SendState,
    error?: { code: string; message: string },
  ) {
    await tx.query(
      `UPDATE mail_gateway.send_log SET state = $2, error_code = $3, error_message = $4, updated_at = now()
        WHERE send_id = $1`,
      [sendId, state, error?.code ?? null, error?.message ?? null],
    );
  }

  /** Graph: the finished draft, recorded before it is sent. */
  async recordDraft(tx: EntityManager, sendId: string, draftId: string, rfcMessageId: string): Promise<void> {
    await tx.query(
      `UPDATE mail_gateway.send_log SET provider_draft_id = $2, provider_rfc_message_id = $3, updated_at = now()
        WHERE send_id = $1`,
      [sendId, draftId, rfcMessageId],
    );
  }

  async markSent(tx: EntityManager, sendId: string, outcome: SentOutcome): Promise<Date> {
    const rows = await queryRows<{ sent_at: Date }>(
      tx,
      `UPDATE mail_gateway.send_log
          SET state = 'sent', provider_message_id = $2, provider_thread_id = $3, provider_rfc_message_id = $4,
              error_code = NULL, error_message = NULL, sent_at = now(), updated_at = now()
        WHERE send_id = $1 RETURNING sent_at`,
      [sendId, outcome.providerMessageId, outcome.providerThreadId, outcome.providerRfcMessageId],
    );
    return rows[0]?.sent_at ?? new Date();
  }
}
