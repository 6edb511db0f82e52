import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { ContactProjectionEntity } from './contact-projection.entity';

export interface ContactState {
  readonly locationId: string;
  readonly contactId: string;
  readonly emailNormalized: string;
  readonly assignedUserId: string | null;
  readonly createdAt: Date;
  readonly deleted: boolean;
  readonly revision: number;
}

@Injectable()
export class ContactProjectionRepository {
  constructor(
    @InjectRepository(ContactProjectionEntity) private readonly repo: Repository<ContactProjectionEntity>,
  ) {}

  /**
   * Applies a contact state if it is newer than what is stored (events may arrive redelivered or, across a
   * re-partitioning, out of order). One statement, no read-modify-write race.
   */
  async apply(tx: EntityManager, s: ContactState): Promise<void> {
    await tx.query(
      `INSERT INTO sync_engine.contact_projection
         (location_id, contact_id, email_normalized, assigned_user_id, created_at, deleted, revision)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (location_id, contact_id) DO UPDATE SET
         email_normalized = EXCLUDED.email_normalized,
         assigned_user_id = EXCLUDED.assigned_user_id,
         created_at = EXCLUDED.created_at,
         deleted = EXCLUDED.deleted,
         revision = EXCLUDED.revision
       WHERE contact_projection.revision < EXCLUDED.revision`,
      [s.locationId, s.contactId, s.emailNormalized, s.assignedUserId, s.createdAt, s.deleted, s.revision],
    );
  }

  /** A deletion keeps the row (as a tombstone with its revision) so a late, older upsert cannot resurrect it. */
  async markDeleted(
    tx: EntityManager,
    locationId: string,
    contactId: string,
    revision: number,
  ): Promise<void> {
    await tx.query(
      `UPDATE sync_engine.contact_projection SET deleted = true, revision = $3
       WHERE location_id = $1 AND contact_id = $2 AND revision < $3`,
      [locationId, contactId, revision],
    );
    await tx.query(
      `INSERT INTO sync_engine.contact_projection
         (location_id, contact_id, email_normalized, assigned_user_id, created_at, deleted, revision)
       VALUES ($1, $2, '', NULL, now(), true, $3)
       ON CONFLICT (location_id, contact_id) DO NOTHING`,
      [locationId, contactId, revision],
    );
  }

  /** Live contacts of a location with this address, first-created first (ADR-3). */
  findByEmail(locationId: string, emailNormalized: string): Promise<ContactProjectionEntity[]> {
    return this.repo.find({
      where: { locationId, emailNormalized, deleted: false },
      order: { createdAt: 'ASC', contactId: 'ASC' },
    });
  }

  list(locationId: string, limit: number): Promise<ContactProjectionEntity[]> {
    return this.repo.find({
      where: { locationId, deleted: false },
      order: { createdAt: 'ASC' },
      take: limit,
    });
  }
}
