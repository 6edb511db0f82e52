import { Injectable } from '@nestjs/common';
import { contactCreateRequestedV1 } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { EventOf, OnEvent } from '@mailbridge/platform-runtime';
import { ContactsService } from './contacts.service';

/** contact.create-requested (BCC-1) from sync-engine: the contact is created once, and published as usual. */
@Injectable()
export class ContactsConsumer {
  constructor(private readonly contacts: ContactsService) {}

  @OnEvent(contactCreateRequestedV1, { group: 'contact-requests' })
  async onContactRequest(
    event: EventOf<typeof contactCreateRequestedV1>,
    tx: TransactionContext,
  ): Promise<void> {
    await this.contacts.createRequested(tx, event.payload);
  }
}
