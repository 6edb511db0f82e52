import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { IdempotencyKeyEntity } from './idempotency-key.entity';

@Injectable()
export class IdempotencyRepository {
  constructor(
    @InjectRepository(IdempotencyKeyEntity) private readonly repo: Repository<IdempotencyKeyEntity>,
  ) {}

  find(locationId: string, idempotencyKey: string): Promise<IdempotencyKeyEntity | null> {
    return this.repo.findOneBy({ locationId, idempotencyKey });
  }

  /**
   * Claims the key in the send's transaction. A concurrent claim of the same key waits for this one to commit and
   * then finds it taken: false, and the caller answers from the row that won.
   */
  async claim(tx: EntityManager, row: IdempotencyKeyEntity): Promise<boolean> {
    const inserted: unknown[] = await tx.query(
      `INSERT INTO conversations.idempotency_keys
         (location_id, idempotency_key, request_hash, message_id, response, created_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6)
       ON CONFLICT DO NOTHING RETURNING idempotency_key`,
      [
        row.locationId,
        row.idempotencyKey,
        row.requestHash,
        row.messageId,
        JSON.stringify(row.response),
        row.createdAt,
      ],
    );
    return inserted.length > 0;
  }

  findIn(
    tx: EntityManager,
    locationId: string,
    idempotencyKey: string,
  ): Promise<IdempotencyKeyEntity | null> {
    return tx.getRepository(IdempotencyKeyEntity).findOneBy({ locationId, idempotencyKey });
  }
}
