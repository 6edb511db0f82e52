import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { EventEnvelope } from '@mailbridge/contracts';
import { schemaOf } from './data-source.factory';

export type QuarantineStatus = 'quarantined' | 'resolved';

export interface QuarantineFailure {
  readonly code: string;
  readonly errorClass: string;
  readonly message: string;
}

export interface NewQuarantineItem {
  readonly consumerGroup: string;
  readonly stage: string;
  readonly topic: string;
  readonly envelope: EventEnvelope;
  readonly failure: QuarantineFailure;
  readonly attempts: number;
}

export interface QuarantineItem {
  readonly id: string;
  readonly consumerGroup: string;
  readonly stage: string;
  readonly topic: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly eventVersion: number;
  readonly eventKey: string;
  readonly locationId: string | null;
  readonly envelope: EventEnvelope;
  readonly errorCode: string;
  readonly errorClass: string;
  readonly errorMessage: string;
  readonly attempts: number;
  readonly status: QuarantineStatus;
  readonly firstFailedAt: Date;
  readonly lastFailedAt: Date;
  readonly resolvedAt: Date | null;
}

const COLUMNS = `id, consumer_group AS "consumerGroup", stage, topic, event_id AS "eventId", event_type AS "eventType",
  event_version AS "eventVersion", event_key AS "eventKey", location_id AS "locationId", envelope,
  error_code AS "errorCode", error_class AS "errorClass", error_message AS "errorMessage", attempts, status,
  first_failed_at AS "firstFailedAt", last_failed_at AS "lastFailedAt", resolved_at AS "resolvedAt"`;

/** PostgreSQL text cannot hold U+0000; an error message may quote the very input that failed. */
const storable = (s: string) => s.replaceAll('\u0000', '\uFFFD');

/** The service's quarantine table (see PlatformQuarantine1732650000000). */
export class QuarantineRepository {
  constructor(private readonly dataSource: DataSource) {}

  private get table(): string {
    return `"${schemaOf(this.dataSource)}".quarantine`;
  }

  /** Records the event unless this group already quarantined it; returns the new item's id, or null. */
  async insert(tx: EntityManager, item: NewQuarantineItem): Promise<string | null> {
    const e = item.envelope;
    const rows: Array<{ id: string }> = await tx.query(
      `INSERT INTO ${this.table} (id, consumer_group, stage, topic, event_id, event_type, event_version, event_key,
         location_id, envelope, error_code, error_class, error_message, attempts)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14)
       ON CONFLICT (consumer_group, event_id) DO NOTHING RETURNING id`,
      [
        randomUUID(),
        item.consumerGroup,
        item.stage,
        item.topic,
        e.id,
        e.type,
        e.version,
        e.key,
        e.locationId ?? null,
        storable(JSON.stringify(e)),
        storable(item.failure.code),
        storable(item.failure.errorClass),
        storable(item.failure.message),
        item.attempts,
      ],
    );
    return rows[0]?.id ?? null;
  }

  /** Whether this group ever quarantined the event (a redelivery of it is settled, whatever its status). */
  async contains(consumerGroup: string, eventId: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `SELECT 1 FROM ${this.table} WHERE consumer_group = $1 AND event_id = $2`,
      [consumerGroup, eventId],
    );
    return rows.length > 0;
  }

  async find(id: string): Promise<QuarantineItem | null> {
    const rows: QuarantineItem[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM ${this.table} WHERE id = $1`,
      [id],
    );
    return rows[0] ?? null;
  }

  /** Oldest first; `after` is the last id of the previous page. */
  async list(q: { status?: QuarantineStatus; limit: number; after?: string }): Promise<QuarantineItem[]> {
    return this.dataSource.query(
      `SELECT ${COLUMNS} FROM ${this.table}
       WHERE ($1::text IS NULL OR status = $1)
         AND ($2::uuid IS NULL OR (first_failed_at, id) >
              (SELECT first_failed_at, id FROM ${this.table} WHERE id = $2))
       ORDER BY first_failed_at, id LIMIT $3`,
      [q.status ?? null, q.after ?? null, q.limit],
    );
  }

  /** A retry that ran the handler's work: the item is done. Only the first of concurrent retries changes it. */
  async resolve(id: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE ${this.table} SET status = 'resolved', resolved_at = now() WHERE id = $1 AND status = 'quarantined'`,
      [id],
    );
  }

  /** A retry failed again: the item stays quarantined with the latest error. */
  async recordFailure(id: string, failure: QuarantineFailure): Promise<void> {
    await this.dataSource.query(
      `UPDATE ${this.table}
       SET attempts = attempts + 1, last_failed_at = now(), error_code = $2, error_class = $3, error_message = $4
       WHERE id = $1 AND status = 'quarantined'`,
      [id, storable(failure.code), storable(failure.errorClass), storable(failure.message)],
    );
  }
}
