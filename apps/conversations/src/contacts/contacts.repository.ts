import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, IsNull, Repository } from 'typeorm';
import { ContactEntity } from './contact.entity';

/** Every query is scoped by location: there is no method that reads contacts across locations. */
@Injectable()
export class ContactsRepository {
  constructor(@InjectRepository(ContactEntity) private readonly repo: Repository<ContactEntity>) {}

  findActive(locationId: string, contactId: string): Promise<ContactEntity | null> {
    return this.repo.findOneBy({ locationId, contactId, deletedAt: IsNull() });
  }

  findByEmail(locationId: string, emailNormalized: string, limit: number): Promise<ContactEntity[]> {
    return this.repo.find({
      where: { locationId, emailNormalized, deletedAt: IsNull() },
      order: { createdAt: 'ASC', contactId: 'ASC' },
      take: limit,
    });
  }

  list(locationId: string, limit: number): Promise<ContactEntity[]> {
    return this.repo.find({
      where: { locationId, deletedAt: IsNull() },
      order: { createdAt: 'ASC', contactId: 'ASC' },
      take: limit,
    });
  }

  findLiveByEmail(
    tx: EntityManager,
    locationId: string,
    emailNormalized: string,
  ): Promise<ContactEntity | null> {
    return tx.getRepository(ContactEntity).findOneBy({ locationId, emailNormalized, deletedAt: IsNull() });
  }

  /** Row lock inside a unit of work, so concurrent upserts of one contact get distinct revisions. */
  lockForUpdate(tx: EntityManager, locationId: string, contactId: string): Promise<ContactEntity | null> {
    return tx.getRepository(ContactEntity).findOne({
      where: { locationId, contactId },
      lock: { mode: 'pessimistic_write' },
    });
  }

  save(tx: EntityManager, contact: ContactEntity): Promise<ContactEntity> {
    return tx.getRepository(ContactEntity).save(contact);
  }
}
