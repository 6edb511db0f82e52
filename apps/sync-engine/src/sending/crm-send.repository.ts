import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { SendRoute } from '@mailbridge/contracts';
import { queryRows } from '@mailbridge/platform-persistence';

export interface CrmSendRecord {
  readonly sendId: string;
  readonly locationId: string;
  readonly userId: string;
  readonly contactId: string;
  readonly conversationId: string;
  readonly kind: string;
  readonly status: 'requested' | 'refused' | 'succeeded' | 'failed';
  readonly rule: string;
  readonly route: SendRoute | null;
  readonly connectionId: string | null;
  readonly mailboxKey: string | null;
  readonly rfcMessageId: string | null;
  readonly bindingId: string | null;
  readonly createdBinding: boolean;
  readonly replyKeys: readonly string[];
  /** SYN-4: the other locations' bindings of the thread this reply ended when it was routed. */
  readonly endedBindingIds: readonly string[];
  readonly refusalCode: string | null;
  readonly refusalMessage: string | null;
  readonly trace: readonly string[];
  readonly requestedAt: string;
}

interface CrmSendRow {
  send_id: string;
  location_id: string;
  user_id: string;
  contact_id: string;
  conversation_id: string;
  kind: string;
  status: CrmSendRecord['status'];
  rule: string;
  route: SendRoute | null;
  connection_id: string | null;
  mailbox_key: string | null;
  rfc_message_id: string | null;
  binding_id: string | null;
  created_binding: boolean;
  reply_keys: string[];
  ended_binding_ids: string[];
  refusal_code: string | null;
  refusal_message: string | null;
  trace: string[];
  requested_at: Date;
}

const toRecord = (r: CrmSendRow): CrmSendRecord => ({
  sendId: r.send_id,
  locationId: r.location_id,
  userId: r.user_id,
  contactId: r.contact_id,
  conversationId: r.conversation_id,
  kind: r.kind,
  status: r.status,
  rule: r.rule,
  route: r.route,
  connectionId: r.connection_id,
  mailboxKey: r.mailbox_key,
  rfcMessageId: r.rfc_message_id,
  bindingId: r.binding_id,
  createdBinding: r.created_binding,
  replyKeys: r.reply_keys,
  endedBindingIds: r.ended_binding_ids,
  refusalCode: r.refusal_code,
  refusalMessage: r.refusal_message,
  trace: r.trace,
  requestedAt: new Date(r.requested_at).toISOString(),
});

/** CRM sends as routed (one per CRM message id, SND-6) and their results. */
@Injectable()
export class CrmSendRepository {
  async find(tx: EntityManager, sendId: string): Promise<CrmSendRecord | null> {
    const rows: CrmSendRow[] = await tx.query(`SELECT * FROM sync_engine.crm_send WHERE send_id = $1`, [
      sendId,
    ]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Returns false when a send with this id exists already (nothing is written then). */
  async insert(
    tx: EntityManager,
    s: Omit<CrmSendRecord, 'refusalCode' | 'refusalMessage' | 'endedBindingIds'> & {
      endedBindingIds?: readonly string[];
      refusalCode?: string | null;
      refusalMessage?: string | null;
    },
  ): Promise<boolean> {
    const rows: unknown[] = await tx.query(
      `INSERT INTO sync_engine.crm_send
         (send_id, location_id, user_id, contact_id, conversation_id, kind, status, rule, route, connection_id,
          mailbox_key, rfc_message_id, binding_id, created_binding, reply_keys, refusal_code, refusal_message, trace,
          requested_at, ended_binding_ids)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20::uuid[])
       ON CONFLICT (send_id) DO NOTHING RETURNING send_id`,
      [
        s.sendId,
        s.locationId,
        s.userId,
        s.contactId,
        s.conversationId,
        s.kind,
        s.status,
        s.rule,
        s.route ? JSON.stringify(s.route) : null,
        s.connectionId,
        s.mailboxKey,
        s.rfcMessageId,
        s.bindingId,
        s.createdBinding,
        s.replyKeys,
        s.refusalCode ?? null,
        s.refusalMessage ?? null,
        JSON.stringify(s.trace),
        s.requestedAt,
        s.endedBindingIds ?? [],
      ],
    );
    return rows.length > 0;
  }

  /** Records a send result once: only a send still `requested` moves on. Returns whether it moved. */
  async markResult(
    tx: EntityManager,
    sendId: string,
    result: {
      status: 'succeeded' | 'failed';
      providerMessageId?: string | null;
      providerThreadId?: string | null;
      detail: string;
    },
  ): Promise<boolean> {
    const rows = await queryRows(
      tx,
      `UPDATE sync_engine.crm_send SET status = $2, provider_message_id = $3, provider_thread_id = $4,
         trace = trace || to_jsonb($5::text), updated_at = now()
       WHERE send_id = $1 AND status = 'requested' RETURNING send_id`,
      [
        sendId,
        result.status,
        result.providerMessageId ?? null,
        result.providerThreadId ?? null,
        result.detail,
      ],
    );
    return rows.length > 0;
  }

  /** Inspection: a send by its CRM message id or its RFC Message-ID. */
  async findForInspection(
    tx: EntityManager,
    sendId: string | null,
    rfcMessageId: string,
  ): Promise<Array<Record<string, unknown>>> {
    return tx.query(
      `SELECT send_id AS "sendId", location_id AS "locationId", user_id AS "userId", contact_id AS "contactId",
              conversation_id AS "conversationId", kind, status, rule, route, rfc_message_id AS "rfcMessageId",
              binding_id AS "bindingId", refusal_code AS "refusalCode", refusal_message AS "refusalMessage",
              provider_message_id AS "providerMessageId", provider_thread_id AS "providerThreadId", trace,
              requested_at AS "requestedAt"
       FROM sync_engine.crm_send WHERE send_id = $1::uuid OR rfc_message_id = $2 LIMIT 10`,
      [sendId, rfcMessageId],
    );
  }
}
