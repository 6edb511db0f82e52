import { Inject, Injectable } from '@nestjs/common';
import {
  contactDeletedV1,
  contactUpsertedV1,
  type PayloadOf,
  contactCreateRequestedV1,
} from '@mailbridge/contracts';
import type { TransactionContext, UnitOfWork } from '@mailbridge/platform-persistence';
import { AppError, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { ContactEntity } from './contact.entity';
import { ContactsRepository } from './contacts.repository';

export interface UpsertContactCommand {
  readonly locationId: string;
  readonly contactId: string;
  readonly email: string;
  readonly name?: string | null;
  readonly assignedUserId?: string | null;
  readonly createdAt?: string;
}

const MAX_LIST = 100;

/** ADR-5: the whole address lower-cased; no dot or plus-tag folding. */
export const normalizeEmail = (email: string) => email.trim().toLowerCase();

@Injectable()
export class ContactsService {
  constructor(
    private readonly contacts: ContactsRepository,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
  ) {}

  /** Creates or replaces a contact and publishes it (only when something changed, so a retried PUT is a no-op). */
  async upsert(cmd: UpsertContactCommand): Promise<{ contact: ContactEntity; created: boolean }> {
    return this.uow.run(async (tx) => {
      const existing = await this.contacts.lockForUpdate(tx.manager, cmd.locationId, cmd.contactId);
      const now = new Date();
      const live = existing && existing.deletedAt === null ? existing : null;
      const snapshot = live ? { ...live } : null;
      const created = live === null;
      const next: ContactEntity = Object.assign(existing ?? new ContactEntity(), {
        locationId: cmd.locationId,
        contactId: cmd.contactId,
        email: cmd.email.trim(),
        emailNormalized: normalizeEmail(cmd.email),
        // Fields the request leaves out keep their value; a re-created contact starts afresh.
        name: cmd.name === undefined ? (live?.name ?? null) : cmd.name,
        assignedUserId:
          cmd.assignedUserId === undefined ? (live?.assignedUserId ?? null) : cmd.assignedUserId,
        createdAt: cmd.createdAt ? new Date(cmd.createdAt) : (live?.createdAt ?? now),
        deletedAt: null,
      });
      if (snapshot && sameContact(snapshot, next, cmd)) return { contact: next, created: false };
      next.revision = (existing?.revision ?? 0) + 1;
      next.updatedAt = now;
      const saved = await this.contacts.save(tx.manager, next);
      tx.emit(contactUpsertedV1, {
        locationId: saved.locationId,
        contactId: saved.contactId,
        email: saved.email,
        name: saved.name,
        assignedUserId: saved.assignedUserId,
        createdAt: saved.createdAt.toISOString(),
        revision: saved.revision,
      });
      return { contact: saved, created };
    });
  }

  /**
   * BCC-1, the one case where the platform creates a contact: with the requested id, unless a live contact with that
   * address already exists in the location (then nothing). Runs in the caller's transaction (the consumer's inbox).
   */
  async createRequested(
    tx: TransactionContext,
    p: PayloadOf<typeof contactCreateRequestedV1>,
  ): Promise<ContactEntity | null> {
    const emailNormalized = normalizeEmail(p.email);
    if (await this.contacts.findLiveByEmail(tx.manager, p.locationId, emailNormalized)) return null;
    const existing = await this.contacts.lockForUpdate(tx.manager, p.locationId, p.contactId);
    if (existing && existing.deletedAt === null) return null;
    const now = new Date();
    const saved = await this.contacts.save(
      tx.manager,
      Object.assign(existing ?? new ContactEntity(), {
        locationId: p.locationId,
        contactId: p.contactId,
        email: p.email.trim(),
        emailNormalized,
        name: p.name,
        assignedUserId: p.assignedUserId,
        createdAt: new Date(p.requestedAt),
        updatedAt: now,
        deletedAt: null,
        revision: (existing?.revision ?? 0) + 1,
      }),
    );
    tx.emit(contactUpsertedV1, {
      locationId: saved.locationId,
      contactId: saved.contactId,
      email: saved.email,
      name: saved.name,
      assignedUserId: saved.assignedUserId,
      createdAt: saved.createdAt.toISOString(),
      revision: saved.revision,
    });
    return saved;
  }

  async remove(locationId: string, contactId: string): Promise<void> {
    await this.uow.run(async (tx) => {
      const existing = await this.contacts.lockForUpdate(tx.manager, locationId, contactId);
      if (!existing || existing.deletedAt) throw contactNotFound(contactId);
      existing.deletedAt = new Date();
      existing.updatedAt = existing.deletedAt;
      existing.revision += 1;
      await this.contacts.save(tx.manager, existing);
      tx.emit(contactDeletedV1, { locationId, contactId, revision: existing.revision });
    });
  }

  async get(locationId: string, contactId: string): Promise<ContactEntity> {
    const contact = await this.contacts.findActive(locationId, contactId);
    if (!contact) throw contactNotFound(contactId);
    return contact;
  }

  find(locationId: string, email?: string): Promise<ContactEntity[]> {
    return email
      ? this.contacts.findByEmail(locationId, normalizeEmail(email), MAX_LIST)
      : this.contacts.list(locationId, MAX_LIST);
  }
}

function sameContact(a: ContactEntity, b: ContactEntity, cmd: UpsertContactCommand): boolean {
  return (
    a.email === b.email &&
    a.name === b.name &&
    a.assignedUserId === b.assignedUserId &&
    (!cmd.createdAt || a.createdAt.getTime() === b.createdAt.getTime())
  );
}

function contactNotFound(contactId: string): AppError {
  return new AppError(
    'not_found',
    'contact_not_found',
    `Contact ${contactId} does not exist in this location`,
  );
}
