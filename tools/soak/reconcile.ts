// The soak's verdict, as a pure function: what the script put in (provider messages delivered to watched mailboxes,
// CRM sends) against what the platform recorded (CRM messages, sync-events, sync-engine decisions, Sent copies).
// Everything is compared by provider id (inbound) or by the send's own marker (outbound), never by counts alone.

/** Who a delivered message is from, which decides what counts as its outcome (SYN-3, SYN-10). */
export type DeliveredKind =
  /** From a contact assigned to the mailbox's user (contact_mail scope): must reach the CRM or sync-events. */
  | 'contact'
  /** Written by the mailbox owner to a contact from Gmail/Outlook: must reach the CRM or sync-events. */
  | 'owner'
  /** From an address that is no contact: no rule syncs it; a decision (not synced by a named rule) accounts it. */
  | 'stranger';

export interface DeliveredMessage {
  /** The provider's id of the message in the watched mailbox. */
  readonly providerId: string;
  readonly userId: string;
  readonly kind: DeliveredKind;
  /** What the script did to it (e.g. `plain`, `nul-subject`, `reused-message-id`), for the report. */
  readonly variant: string;
  readonly subject: string;
  /** When the sandbox accepted it (ISO). */
  readonly deliveredAt: string;
}

export interface CrmSend {
  /** Unique text in the subject, to find its copies in the Sent folder. */
  readonly marker: string;
  readonly userId: string;
  readonly idempotencyKey: string;
  /** The CRM's id when a POST answered 202; null when no attempt got an answer. */
  readonly crmMessageId: string | null;
}

export interface RecordedCrmMessage {
  readonly id: string;
  readonly source: string;
  readonly status: string;
  readonly subject: string;
  readonly providerMessageId: string | null;
  /** `google` / `microsoft`; null for mail that went out through the location provider (SND-1). */
  readonly providerName: string | null;
  readonly failure: { code: string; message: string } | null;
}

export interface RecordedSyncEvent {
  readonly kind: string;
  readonly reason: string;
  readonly userId: string | null;
  readonly providerMessageId: string | null;
  readonly messageId: string | null;
  readonly rangeFrom: string | null;
  readonly rangeTo: string | null;
}

export interface Recorded {
  /** Every message of every conversation of the soak's contacts. */
  readonly crmMessages: readonly RecordedCrmMessage[];
  readonly syncEvents: readonly RecordedSyncEvent[];
  /** provider id → outcomes sync-engine recorded for it (GET /internal/decisions); absent or [] = none. */
  readonly decisions: ReadonlyMap<string, readonly string[]>;
  /** send marker → copies of it in the owner's Sent folder. */
  readonly sentCopies: ReadonlyMap<string, number>;
}

export interface Finding {
  readonly id: string;
  readonly what: string;
}

export interface Reconciliation {
  /** Provider messages delivered plus CRM sends accepted (or possibly accepted). */
  readonly delivered: number;
  readonly accounted: number;
  readonly lost: readonly Finding[];
  readonly duplicated: readonly Finding[];
  readonly doubleSent: readonly Finding[];
  /** How each accounted item was accounted, e.g. `crm` 120, `sync-event` 3, `decision` 40, `sent-once` 12. */
  readonly accountedBy: Readonly<Record<string, number>>;
}

function gapCovers(event: RecordedSyncEvent, message: DeliveredMessage): boolean {
  if (event.kind !== 'sync_gap' || event.userId !== message.userId || !event.rangeFrom) return false;
  const at = Date.parse(message.deliveredAt);
  return Date.parse(event.rangeFrom) <= at && (!event.rangeTo || at <= Date.parse(event.rangeTo));
}

/** The marker as a whole word of the subject (`s1x5` is not in `soak s1x55 crm`). */
export function hasMarker(subject: string, marker: string): boolean {
  return subject.split(/\s+/).includes(marker);
}

export function reconcile(
  delivered: readonly DeliveredMessage[],
  sends: readonly CrmSend[],
  recorded: Recorded,
): Reconciliation {
  const lost: Finding[] = [];
  const duplicated: Finding[] = [];
  const doubleSent: Finding[] = [];
  const accountedBy: Record<string, number> = {};
  const account = (how: string) => (accountedBy[how] = (accountedBy[how] ?? 0) + 1);

  const inCrm = new Map<string, RecordedCrmMessage[]>();
  for (const m of recorded.crmMessages) {
    if (!m.providerMessageId) continue;
    const list = inCrm.get(m.providerMessageId) ?? [];
    list.push(m);
    inCrm.set(m.providerMessageId, list);
  }
  const skipped = new Map<string, RecordedSyncEvent>();
  for (const e of recorded.syncEvents) if (e.providerMessageId) skipped.set(e.providerMessageId, e);

  for (const message of delivered) {
    const known = `${message.kind} ${message.variant} for ${message.userId}, "${message.subject}", delivered ${message.deliveredAt}`;
    const decisions = recorded.decisions.get(message.providerId) ?? [];
    if (inCrm.has(message.providerId)) account('crm');
    else if (skipped.has(message.providerId)) account('sync-event');
    else if (recorded.syncEvents.some((e) => gapCovers(e, message))) account('sync-gap');
    // A stranger's mail is never synced (SYN-3); the decision "not synced by a named rule" is its outcome (SYN-10).
    else if (message.kind === 'stranger' && decisions.length > 0) account('decision');
    else
      lost.push({
        id: message.providerId,
        what:
          decisions.length > 0
            ? `${known}: decided (${decisions.join(', ')}) but neither in the CRM nor in sync-events`
            : `${known}: no outcome anywhere (no CRM message, no sync-event, no decision)`,
      });
  }

  // One provider message is one CRM message (SYN-5): a Sent copy merges into its CRM send, a redelivery is a no-op.
  for (const [providerId, list] of inCrm)
    if (list.length > 1)
      duplicated.push({
        id: providerId,
        what: `${list.length} CRM messages (${list.map((m) => `${m.id} ${m.source}/${m.status}`).join(', ')})`,
      });

  let owedSends = 0;
  for (const send of sends) {
    const copies = recorded.sentCopies.get(send.marker) ?? 0;
    const crm = recorded.crmMessages.filter((m) => m.source === 'crm' && hasMarker(m.subject, send.marker));
    const label = `CRM send ${send.marker} of ${send.userId} (key ${send.idempotencyKey}, message ${send.crmMessageId ?? 'unknown'})`;
    // A retried POST with the same Idempotency-Key must give the same CRM message (SND-6).
    if (crm.length > 1)
      duplicated.push({ id: send.marker, what: `${label}: ${crm.length} CRM messages for one send` });
    if (send.crmMessageId === null && copies === 0 && crm.length === 0) continue; // never accepted: nothing owed
    owedSends++;
    if (copies > 1) {
      doubleSent.push({ id: send.marker, what: `${label}: ${copies} copies in the Sent folder` });
      continue;
    }
    if (copies === 1) {
      account('sent-once');
      continue;
    }
    const failed =
      crm.find((m) => m.status === 'failed' && m.failure) ??
      recorded.syncEvents.find((e) => e.kind === 'send_failed' && e.messageId === send.crmMessageId);
    // No active connection at that moment (e.g. revoked): the location provider sends it (SND-1), not the mailbox.
    const viaLocationProvider = crm.find((m) => m.status === 'sent' && m.providerName === null);
    if (failed) account('send-failed-with-reason');
    else if (viaLocationProvider) account('sent-by-location-provider');
    else
      lost.push({
        id: send.marker,
        what: `${label}: not in the Sent folder, CRM status ${crm[0]?.status ?? 'absent'}, no failure recorded`,
      });
  }

  const accounted = Object.values(accountedBy).reduce((a, b) => a + b, 0);
  return { delivered: delivered.length + owedSends, accounted, lost, duplicated, doubleSent, accountedBy };
}

/** The soak's last line. */
export function summaryLine(r: Reconciliation): string {
  return `soak: ${r.delivered} delivered, ${r.accounted} accounted, ${r.lost.length} lost, ${r.duplicated.length} duplicated, ${r.doubleSent.length} double-sent`;
}
