import { Injectable } from '@nestjs/common';
import { contactDeletedV1, contactUpsertedV1, eventCatalog } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { EventOf, OnEvent } from '@mailbridge/platform-runtime';
import { ContactProjectionRepository } from './contact-projection.repository';

const CONTACT_EVENTS = [contactUpsertedV1, contactDeletedV1] as const;

/** Keeps the contact projection from the CRM's contact events (once per event, newest revision wins). */
@Injectable()
export class ContactsConsumer {
  constructor(private readonly projection: ContactProjectionRepository) {}

  @OnEvent(CONTACT_EVENTS, { group: 'contact-projection' })
  async onContactEvent(event: EventOf<typeof CONTACT_EVENTS>, tx: TransactionContext): Promise<void> {
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
    } else {
      const p = event.payload;
      await this.projection.markDeleted(tx.manager, p.locationId, p.contactId, p.revision);
    }
  }
}
