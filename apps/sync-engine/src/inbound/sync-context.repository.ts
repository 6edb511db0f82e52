import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { normalizeAddress } from '@mailbridge/domain-mail';
import { ConnectionRow, toConnectionView } from '../connections/connection-projection.repository';
import type {
  ConnectionView,
  ContactView,
  CrmSendView,
  KeyMatch,
  ObservedMessage,
} from '../decisions/decision.types';
import { lookupKeys, messageKey } from '../decisions/thread-keys';
import { BindingRow, toBindingView } from '../threads/thread-binding.repository';
import type { BindingView } from '../decisions/decision.types';
import {
  type ContactRow,
  type CrmSendRow,
  isoTime,
  sendRefOf,
  toContactView,
  toCrmSendView,
} from './sync-context.rows';

export interface SyncContext {
  readonly connections: ConnectionView[];
  readonly bindings: BindingView[];
  readonly keyMatches: KeyMatch[];
  readonly contacts: ContactView[];
  readonly crmSends: CrmSendView[];
  readonly smartBccAddresses: Set<string>;
  /** Loss path 5: the message's Message-ID is already a key of a synced thread of its mailbox. */
  readonly messageIdTaken: boolean;
  /** The decision already taken for this message in this mailbox, if any (SYN-5 repeats). */
  readonly alreadyDecided: boolean;
  /** Whether any message of these mailboxes waits for a second look (SYN-6). */
  readonly hasParked: boolean;
}

/** Every address of a message, lower-cased (ADR-5): what contacts and smart-BCC addresses are looked up by. */
export function messageAddresses(observed: ObservedMessage): string[] {
  const m = observed.message;
  const all = [m.from, ...m.to, ...m.cc, ...m.bcc].filter((a): a is NonNullable<typeof a> => !!a);
  return [...new Set(all.map((a) => normalizeAddress(a.address)))];
}

/**
 * Loads everything the decision for one observed message reads, in one round trip: the mailbox's connections (and,
 * for smart-BCC mail, the user's), the bindings the message's keys find, the contacts its addresses match in those
 * locations, the CRM sends it may be a copy of, known smart-BCC addresses, and whether it was decided before.
 */
@Injectable()
export class SyncContextRepository {
  /**
   * `alsoLocations`: locations whose contacts are read too (the owner's answer named connections of this mailbox the
   * projection does not have yet).
   */
  async load(
    tx: EntityManager,
    observed: ObservedMessage,
    alsoLocations: readonly string[] = [],
  ): Promise<SyncContext> {
    const m = observed.message;
    const smartBcc = observed.source === 'smart_bcc' ? (observed.smartBcc ?? null) : null;
    // A smart-BCC copy's provider thread id belongs to the smart-BCC inbox, not to the user's mailbox.
    const keys = lookupKeys(m)
      .map((k) => k.key)
      .filter((k) => !smartBcc || !k.startsWith('t:'));
    const [row]: Array<{
      connections: ConnectionRow[];
      key_matches: Array<{ key: string; binding_id: string; first_at: string | null }>;
      bindings: BindingRow[];
      contacts: ContactRow[];
      sends: CrmSendRow[];
      smart_bcc: string[];
      id_taken: boolean;
      decided: boolean;
      has_parked: boolean;
    }> = await tx.query(
      `WITH conns AS (
         SELECT connection_id, location_id, user_id, provider, email_normalized, mailbox_key, sync_scope, status
         FROM sync_engine.connection_projection WHERE mailbox_key = $1
         UNION
         SELECT connection_id, location_id, user_id, provider, email_normalized, mailbox_key, sync_scope, status
         FROM sync_engine.connection_projection WHERE $2::text IS NOT NULL AND user_id = $2
       ),
       mailboxes AS (
         SELECT $1::text AS mailbox_key
         UNION SELECT mailbox_key FROM conns WHERE $2::text IS NOT NULL AND user_id = $2 AND location_id = $3
                                              AND mailbox_key IS NOT NULL
       ),
       matches AS (
         SELECT key, binding_id, first_at FROM sync_engine.thread_key
         WHERE mailbox_key IN (SELECT mailbox_key FROM mailboxes) AND key = ANY($4::text[])
       )
       SELECT
         (SELECT coalesce(json_agg(c), '[]') FROM conns c) AS connections,
         (SELECT coalesce(json_agg(x), '[]') FROM matches x) AS key_matches,
         (SELECT coalesce(json_agg(x), '[]') FROM (
             SELECT b.*, coalesce(ct.deleted, false) AS contact_deleted
             FROM sync_engine.thread_binding b
             LEFT JOIN sync_engine.contact_projection ct
               ON ct.location_id = b.location_id AND ct.contact_id = b.contact_id
             WHERE b.binding_id IN (SELECT binding_id FROM matches)) x) AS bindings,
         (SELECT coalesce(json_agg(json_build_object(
             'location_id', ct.location_id, 'contact_id', ct.contact_id, 'email_normalized', ct.email_normalized,
             'assigned_user_id', ct.assigned_user_id, 'created_at', ct.created_at)), '[]')
           FROM sync_engine.contact_projection ct
           WHERE NOT ct.deleted AND ct.email_normalized = ANY($5::text[])
             AND ct.location_id IN (SELECT location_id FROM conns WHERE mailbox_key = $1
                                    UNION ALL SELECT $3::text WHERE $3::text IS NOT NULL
                                    UNION ALL SELECT unnest($10::text[]))
         ) AS contacts,
         (SELECT coalesce(json_agg(s), '[]') FROM (
             SELECT send_id, location_id, user_id, contact_id, conversation_id, connection_id, mailbox_key, binding_id,
                    rfc_message_id
             FROM sync_engine.crm_send
             WHERE status <> 'refused' AND (rfc_message_id = $6 OR send_id = $7::uuid)) s) AS sends,
         (SELECT coalesce(json_agg(a.address), '[]') FROM sync_engine.smart_bcc_address a
           WHERE a.address = ANY($5::text[])) AS smart_bcc,
         EXISTS (SELECT 1 FROM sync_engine.thread_key k
                 WHERE k.mailbox_key = $1 AND k.key = $9::text) AS id_taken,
         EXISTS (SELECT 1 FROM sync_engine.message_decision d
                 WHERE d.mailbox_key = $1 AND d.provider_message_id = $8) AS decided,
         EXISTS (SELECT 1 FROM sync_engine.parked_message p
                 WHERE p.mailbox_key IN (SELECT mailbox_key FROM mailboxes)) AS has_parked`,
      [
        observed.mailboxKey,
        smartBcc?.userId ?? null,
        smartBcc?.locationId ?? null,
        keys,
        messageAddresses(observed),
        m.rfcMessageId,
        sendRefOf(m),
        m.providerMessageId,
        m.rfcMessageId ? messageKey(m.rfcMessageId) : null,
        [...alsoLocations],
      ],
    );
    return {
      connections: row.connections.map(toConnectionView),
      bindings: row.bindings.map(toBindingView),
      keyMatches: row.key_matches.map((k) => ({
        key: k.key,
        bindingId: k.binding_id,
        firstAt: isoTime(k.first_at),
      })),
      contacts: row.contacts.map(toContactView),
      crmSends: row.sends.map(toCrmSendView),
      smartBccAddresses: new Set(row.smart_bcc),
      messageIdTaken: row.id_taken,
      alreadyDecided: row.decided,
      hasParked: row.has_parked,
    };
  }
}
