import { Inject, Injectable } from '@nestjs/common';
import {
  EventEnvelope,
  Topics,
  contactDeletedV1,
  contactUpsertedV1,
  eventCatalog,
} from '@mailbridge/contracts';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { OnEvent, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { ContactProjectionRepository } from './contact-projection.repository';

/** Keeps the contact projection from the CRM's contact events (once per event, newest revision wins). */
@Injectable()
export class ContactsConsumer {
  constructor(
    private readonly projection: ContactProjectionRepository,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
  ) {}

  @OnEvent({ topic: Topics.conversationsContacts, group: 'contact-projection' })
  async onContactEvent(event: EventEnvelope): Promise<void> {
    await this.uow.handleOnce('contact-projection', event, async (tx) => {
      if (eventCatalog.is(event, contactUpsertedV1)) {
        const p = event.payload;
        await this.projection.apply(tx.manager, {
          locationId: p.locationId,
          contactId: p.contactId,
          emailNormalized: p.email.trim().toLowerCase(),
          assignedUserId: p.assignedUserId,
          createdAt: new Date(p.createdAt),
          deleted: false,
          revision: p.revision,
        });
      } else if (eventCatalog.is(event, contactDeletedV1)) {
        const p = event.payload;
        await this.projection.markDeleted(tx.manager, p.locationId, p.contactId, p.revision);
      }
    });
  }
}
