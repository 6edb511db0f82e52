import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { SyncEventEntity } from './sync-event.entity';

export type NewSyncEvent = Omit<SyncEventEntity, 'seq' | 'createdAt'>;

export interface SyncEventPageQuery {
  readonly locationId: string;
  readonly contactId?: string;
  readonly userId?: string;
  readonly after?: { occurredAt: string; seq: string };
  readonly limit: number;
}

/** Every query is scoped by location. */
@Injectable()
export class SyncEventsRepository {
  constructor(@InjectRepository(SyncEventEntity) private readonly repo: Repository<SyncEventEntity>) {}

  /** One statement for all rows (a sync gap names every connection of a mailbox). */
  async insert(tx: EntityManager, rows: readonly NewSyncEvent[]): Promise<void> {
    if (rows.length === 0) return;
    const col = <K extends keyof NewSyncEvent>(k: K) => rows.map((r) => r[k]);
    await tx.query(
      `INSERT INTO conversations.sync_events
         (location_id, sync_event_id, kind, reason, rule, detail, contact_id, user_id, connection_id, mailbox_key,
          message_id, provider_message_id, rfc_message_id, subject, from_address, range_from, range_to, occurred_at,
          source_event_id, created_at)
       SELECT *, now() FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
         $7::text[], $8::text[], $9::uuid[], $10::text[], $11::uuid[], $12::text[], $13::text[], $14::text[],
         $15::jsonb[], $16::timestamptz[], $17::timestamptz[], $18::timestamptz[], $19::uuid[])`,
      [
        col('locationId'),
        col('syncEventId'),
        col('kind'),
        col('reason'),
        col('rule'),
        col('detail'),
        col('contactId'),
        col('userId'),
        col('connectionId'),
        col('mailboxKey'),
        col('messageId'),
        col('providerMessageId'),
        col('rfcMessageId'),
        col('subject'),
        rows.map((r) => (r.from ? JSON.stringify(r.from) : null)),
        col('rangeFrom'),
        col('rangeTo'),
        col('occurredAt'),
        col('sourceEventId'),
      ],
    );
  }

  /** Newest first; the keyset continues after `after`, so new rows never shift a page being read. */
  page(q: SyncEventPageQuery): Promise<SyncEventEntity[]> {
    const qb = this.repo
      .createQueryBuilder('e')
      .where('e.locationId = :locationId', { locationId: q.locationId })
      .orderBy('e.occurredAt', 'DESC')
      .addOrderBy('e.seq', 'DESC')
      .take(q.limit);
    if (q.contactId) qb.andWhere('e.contactId = :contactId', { contactId: q.contactId });
    if (q.userId) qb.andWhere('e.userId = :userId', { userId: q.userId });
    if (q.after) {
      qb.andWhere(
        '(e.occurredAt, e.seq) < (CAST(:occurredAt AS timestamptz), CAST(:seq AS bigint))',
        q.after,
      );
    }
    return qb.getMany();
  }
}
