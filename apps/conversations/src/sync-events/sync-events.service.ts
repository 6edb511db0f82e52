import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import type {
  EventEnvelope,
  PayloadOf,
  mailboxAuditedV1,
  mailboxMessageQuarantinedV1,
  eventQuarantinedV1,
  mailboxSyncGapV1,
  messageSkippedV1,
  smartBccRefusedV1,
  sendFailedV1,
} from '@mailbridge/contracts';
import { decodeCursor, encodeCursor, timestampCursor } from '../common/cursor';
import type { SyncEventEntity } from './sync-event.entity';
import { NewSyncEvent, SyncEventsRepository } from './sync-events.repository';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const RULE_BY_SEND_FAILURE: Record<string, string> = {
  sending_cap_reached: 'SND-4',
  attachment_too_large: 'ATT-1',
  attachment_type_unsupported: 'ATT-2',
};

export interface SyncEventPage {
  readonly items: SyncEventEntity[];
  readonly nextCursor: string | null;
}

/** Records what did not sync or send (so nothing disappears silently) and lists it for the CRM. */
@Injectable()
export class SyncEventsService {
  constructor(private readonly events: SyncEventsRepository) {}

  async recordSkipped(
    { manager }: TransactionContext,
    event: EventEnvelope<PayloadOf<typeof messageSkippedV1>>,
  ): Promise<void> {
    const p = event.payload;
    await this.events.insert(manager, [
      {
        ...blank(p.locationId, event.id, new Date(p.occurredAt)),
        kind: 'message_skipped',
        reason: p.reason,
        rule: p.rule,
        detail: p.detail,
        contactId: p.contactId,
        userId: p.userId,
        connectionId: p.connectionId,
        mailboxKey: p.mailboxKey,
        providerMessageId: p.providerMessageId,
        rfcMessageId: p.rfcMessageId,
        subject: p.subject,
        from: p.from,
      },
    ]);
  }

  /** BCC-1: an Auto-BCC mail held for its sender, listed as a skipped message. */
  async recordSmartBccRefused(
    tx: TransactionContext,
    event: EventEnvelope<PayloadOf<typeof smartBccRefusedV1>>,
  ): Promise<void> {
    await this.recordSkipped(tx, { ...event, payload: { ...event.payload, contactId: null } });
  }

  /** CON-5: one entry per connection of the mailbox, each in that connection's location. */
  async recordGap(
    { manager }: TransactionContext,
    event: EventEnvelope<PayloadOf<typeof mailboxSyncGapV1>>,
  ): Promise<void> {
    const p = event.payload;
    await this.events.insert(
      manager,
      p.connections.map((c) => ({
        ...blank(c.locationId, event.id, new Date(event.occurredAt)),
        kind: 'sync_gap',
        reason: p.reason,
        rule: 'CON-5',
        detail: `Messages between ${p.from} and ${p.to} may not have synced (${p.reason})`,
        userId: c.userId,
        connectionId: c.connectionId,
        mailboxKey: p.mailboxKey,
        rangeFrom: new Date(p.from),
        rangeTo: new Date(p.to),
      })),
    );
  }

  /** SYN-10: a message mail-gateway could not process, set aside; one entry per connection's location. */
  async recordMessageQuarantined(
    { manager }: TransactionContext,
    event: EventEnvelope<PayloadOf<typeof mailboxMessageQuarantinedV1>>,
  ): Promise<void> {
    const p = event.payload;
    await this.events.insert(
      manager,
      p.connections.map((c) => ({
        ...blank(c.locationId, event.id, new Date(p.quarantinedAt)),
        kind: 'message_skipped',
        reason: 'quarantined',
        rule: 'SYN-10',
        detail: `Message ${p.providerMessageId} could not be processed at ${p.stage} after ${p.attempts} attempts (${p.errorClass}); it is quarantined and can be retried`,
        userId: c.userId,
        connectionId: c.connectionId,
        mailboxKey: p.mailboxKey,
        providerMessageId: p.providerMessageId,
      })),
    );
  }

  /**
   * SYN-10: the completeness audit found messages without an outcome and re-drove them through the pipeline; one
   * `sync_gap` entry (reason `audit_healed`, the window as its range) per connection of the mailbox.
   */
  async recordAuditHealed(
    { manager }: TransactionContext,
    event: EventEnvelope<PayloadOf<typeof mailboxAuditedV1>>,
  ): Promise<void> {
    const p = event.payload;
    await this.events.insert(
      manager,
      p.connections.map((c) => ({
        ...blank(c.locationId, event.id, new Date(p.checkedAt)),
        kind: 'sync_gap',
        reason: 'audit_healed',
        rule: 'SYN-10',
        detail: `The completeness audit found ${p.missing} of ${p.providerMessages} message(s) between ${p.window.from} and ${p.window.to} without an outcome and processed them again (audit status: ${p.status})`,
        userId: c.userId,
        connectionId: c.connectionId,
        mailboxKey: p.mailboxKey,
        rangeFrom: new Date(p.window.from),
        rangeTo: new Date(p.window.to),
      })),
    );
  }

  /** SYN-10: a message (or event about one) a stage gave up on; the stage and error class say where and why. */
  async recordQuarantined(
    { manager }: TransactionContext,
    event: EventEnvelope<PayloadOf<typeof eventQuarantinedV1>>,
  ): Promise<void> {
    const p = event.payload;
    if (p.locationId === null) return;
    const connectionId =
      p.subject.connectionId && UUID.test(p.subject.connectionId) ? p.subject.connectionId : null;
    await this.events.insert(manager, [
      {
        ...blank(p.locationId, event.id, new Date(p.quarantinedAt)),
        kind: 'message_skipped',
        reason: 'quarantined',
        rule: 'SYN-10',
        detail:
          `${p.stage} could not process ${p.eventType} ${p.eventId} after ${p.attempts} attempt(s): ${p.errorClass} (${p.errorCode}): ${p.errorMessage}`.slice(
            0,
            2000,
          ),
        contactId: p.subject.contactId,
        userId: p.subject.userId,
        connectionId,
        mailboxKey: p.subject.mailboxKey,
        providerMessageId: p.subject.providerMessageId,
      },
    ]);
  }

  async recordSendFailed(
    { manager }: TransactionContext,
    event: EventEnvelope<PayloadOf<typeof sendFailedV1>>,
    subject: string | null,
  ): Promise<void> {
    const p = event.payload;
    await this.events.insert(manager, [
      {
        ...blank(p.locationId, event.id, new Date(p.failedAt)),
        kind: 'send_failed',
        reason: p.code,
        rule: RULE_BY_SEND_FAILURE[p.code] ?? null,
        detail: p.message,
        contactId: p.contactId,
        userId: p.userId,
        connectionId: p.route?.kind === 'mailbox' ? p.route.connectionId : null,
        mailboxKey: p.route?.kind === 'mailbox' ? p.route.mailboxKey : null,
        messageId: p.sendId,
        subject,
      },
    ]);
  }

  async page(q: {
    locationId: string;
    contactId?: string;
    userId?: string;
    cursor?: string;
    limit: number;
  }): Promise<SyncEventPage> {
    const after = q.cursor ? decodeCursor(q.cursor, timestampCursor) : undefined;
    const rows = await this.events.page({
      locationId: q.locationId,
      contactId: q.contactId,
      userId: q.userId,
      after: after ? { occurredAt: after[0], seq: after[1] } : undefined,
      limit: q.limit + 1,
    });
    const items = rows.slice(0, q.limit);
    const last = rows.length > q.limit ? items[items.length - 1] : undefined;
    return { items, nextCursor: last ? encodeCursor([last.occurredAt.toISOString(), last.seq]) : null };
  }
}

function blank(locationId: string, sourceEventId: string, occurredAt: Date): NewSyncEvent {
  return {
    locationId,
    syncEventId: randomUUID(),
    kind: 'message_skipped',
    reason: '',
    rule: null,
    detail: '',
    contactId: null,
    userId: null,
    connectionId: null,
    mailboxKey: null,
    messageId: null,
    providerMessageId: null,
    rfcMessageId: null,
    subject: null,
    from: null,
    rangeFrom: null,
    rangeTo: null,
    occurredAt,
    sourceEventId,
  };
}
