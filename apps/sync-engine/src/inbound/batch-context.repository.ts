import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { ConnectionRow, toConnectionView } from '../connections/connection-projection.repository';
import type { ObservedMessage } from '../decisions/decision.types';
import { lookupKeys, messageKey, ownKeys } from '../decisions/thread-keys';
import { BindingRow, toBindingView } from '../threads/thread-binding.repository';
import type { BatchSnapshot } from './batch-context';
import { messageAddresses } from './sync-context.repository';
import {
  type ContactRow,
  type CrmSendRow,
  isoTime,
  sendRefOf,
  toContactView,
  toCrmSendView,
} from './sync-context.rows';

/**
 * Issue 16: what the decisions of a whole batch of mailbox messages read, in one statement of `= ANY($n)` lookups
 * (the single path's SyncContextRepository.load, for every message at once). A superset: BatchContext picks each
 * message's share in memory.
 */
@Injectable()
export class BatchContextRepository {
  /** `retentionHours`: parked messages older than this are never decided again (as takeParked). */
  async load(
    tx: EntityManager,
    messages: readonly ObservedMessage[],
    retentionHours: number,
  ): Promise<BatchSnapshot> {
    const mailboxes = [...new Set(messages.map((o) => o.mailboxKey))];
    const keys = new Set<string>();
    const addresses = new Set<string>();
    const rfcIds = new Set<string>();
    const refs = new Set<string>();
    // What the batch's decisions can add to bindings: parked messages carrying one of them may need a second look.
    const own = new Set<string>();
    for (const o of messages) {
      const m = o.message;
      for (const k of lookupKeys(m)) keys.add(k.key);
      for (const k of ownKeys(m)) own.add(k.key);
      if (m.rfcMessageId) {
        keys.add(messageKey(m.rfcMessageId));
        rfcIds.add(m.rfcMessageId);
      }
      const ref = sendRefOf(m);
      if (ref) refs.add(ref);
      for (const a of messageAddresses(o)) addresses.add(a);
    }
    const [row]: Array<{
      connections: ConnectionRow[];
      keys: Array<{
        mailbox_key: string;
        key: string;
        binding_id: string;
        first_at: string | null;
        pmid: string | null;
      }>;
      bindings: BindingRow[];
      contacts: Array<ContactRow & { deleted: boolean }>;
      sends: Array<CrmSendRow & { contact_deleted: boolean }>;
      smart_bcc: string[];
      decided: Array<{
        mailbox_key: string;
        provider_message_id: string;
        outcome: string;
        rules: string[];
        deliveries: Array<{ rule?: string }>;
        skips: Array<{ reason?: string; rule?: string; publish?: boolean }>;
      }>;
      parked: string[];
      parked_keys: Array<{ mailbox_key: string; keys: string[] }>;
    }> = await tx.query(
      `WITH conns AS (
         SELECT connection_id, location_id, user_id, provider, email_normalized, mailbox_key, sync_scope, status
         FROM sync_engine.connection_projection WHERE mailbox_key = ANY($1::text[])
       ),
       keys AS (
         SELECT mailbox_key, key, binding_id, first_at, provider_message_id AS pmid FROM sync_engine.thread_key
         WHERE mailbox_key = ANY($1::text[]) AND key = ANY($2::text[])
       )
       SELECT
         (SELECT coalesce(json_agg(c), '[]') FROM conns c) AS connections,
         (SELECT coalesce(json_agg(k), '[]') FROM keys k) AS keys,
         (SELECT coalesce(json_agg(x), '[]') FROM (
             SELECT b.*, coalesce(ct.deleted, false) AS contact_deleted
             FROM sync_engine.thread_binding b
             LEFT JOIN sync_engine.contact_projection ct
               ON ct.location_id = b.location_id AND ct.contact_id = b.contact_id
             WHERE b.binding_id IN (SELECT binding_id FROM keys)) x) AS bindings,
         (SELECT coalesce(json_agg(json_build_object(
             'location_id', ct.location_id, 'contact_id', ct.contact_id, 'email_normalized', ct.email_normalized,
             'assigned_user_id', ct.assigned_user_id, 'created_at', ct.created_at, 'deleted', ct.deleted)), '[]')
           FROM sync_engine.contact_projection ct
           WHERE ct.email_normalized = ANY($3::text[]) AND ct.location_id IN (SELECT location_id FROM conns)
         ) AS contacts,
         (SELECT coalesce(json_agg(s), '[]') FROM (
             SELECT s.send_id, s.location_id, s.user_id, s.contact_id, s.conversation_id, s.connection_id,
                    s.mailbox_key, s.binding_id, s.rfc_message_id, coalesce(ct.deleted, false) AS contact_deleted
             FROM sync_engine.crm_send s
             LEFT JOIN sync_engine.contact_projection ct
               ON ct.location_id = s.location_id AND ct.contact_id = s.contact_id
             WHERE s.status <> 'refused' AND (s.rfc_message_id = ANY($4::text[]) OR s.send_id = ANY($5::uuid[]))) s
         ) AS sends,
         (SELECT coalesce(json_agg(a.address), '[]') FROM sync_engine.smart_bcc_address a
           WHERE a.address = ANY($3::text[])) AS smart_bcc,
         (SELECT coalesce(json_agg(json_build_object(
             'mailbox_key', d.mailbox_key, 'provider_message_id', d.provider_message_id, 'outcome', d.outcome,
             'rules', d.rules, 'deliveries', d.deliveries, 'skips', d.skips)), '[]')
           FROM sync_engine.message_decision d
           JOIN unnest($6::text[], $7::text[]) AS u(m, p) ON d.mailbox_key = u.m AND d.provider_message_id = u.p
         ) AS decided,
         (SELECT coalesce(json_agg(mb), '[]') FROM unnest($1::text[]) AS mb
           WHERE EXISTS (SELECT 1 FROM sync_engine.parked_message p WHERE p.mailbox_key = mb)) AS parked,
         (SELECT coalesce(json_agg(json_build_object('mailbox_key', p.mailbox_key, 'keys', p.keys)), '[]')
           FROM sync_engine.parked_message p
           WHERE p.mailbox_key = ANY($1::text[]) AND p.keys && $8::text[]
             AND p.parked_at >= now() - make_interval(hours => $9::int)) AS parked_keys`,
      [
        mailboxes,
        [...keys],
        [...addresses],
        [...rfcIds],
        [...refs],
        messages.map((o) => o.mailboxKey),
        messages.map((o) => o.message.providerMessageId),
        [...own],
        retentionHours,
      ],
    );
    const deletedContacts = new Set<string>();
    for (const c of row.contacts) if (c.deleted) deletedContacts.add(`${c.location_id}\u0000${c.contact_id}`);
    for (const s of row.sends)
      if (s.contact_deleted) deletedContacts.add(`${s.location_id}\u0000${s.contact_id}`);
    return {
      connections: row.connections.map(toConnectionView),
      keys: row.keys.map((k) => ({
        mailboxKey: k.mailbox_key,
        key: k.key,
        bindingId: k.binding_id,
        firstAt: isoTime(k.first_at),
        providerMessageId: k.pmid,
      })),
      bindings: row.bindings.map(toBindingView),
      contacts: row.contacts.filter((c) => !c.deleted).map(toContactView),
      deletedContacts,
      crmSends: row.sends.map(toCrmSendView),
      smartBccAddresses: row.smart_bcc,
      decided: row.decided.map((d) => ({
        mailboxKey: d.mailbox_key,
        providerMessageId: d.provider_message_id,
        stored: { outcome: d.outcome, rules: d.rules, deliveries: d.deliveries, skips: d.skips },
      })),
      parkedMailboxes: row.parked,
      parkedKeys: row.parked_keys.map((p) => ({ mailboxKey: p.mailbox_key, keys: p.keys })),
    };
  }
}
