import { Inject, Injectable } from '@nestjs/common';
import { EventEnvelope, Topics, contactCreateRequestedV1, eventCatalog } from '@mailbridge/contracts';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { OnEvent, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { ContactsService } from './contacts.service';

const GROUP = 'contact-requests';

/** contact.create-requested (BCC-1) from sync-engine: the contact is created once, and published as usual. */
@Injectable()
export class ContactsConsumer {
  constructor(
    private readonly contacts: ContactsService,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
  ) {}

  @OnEvent({ topic: Topics.syncContactRequests, group: GROUP })
  async onContactRequest(event: EventEnvelope): Promise<void> {
    if (!eventCatalog.is(event, contactCreateRequestedV1)) return;
    await this.uow.handleOnce(GROUP, event, async (tx) => {
      await this.contacts.createRequested(tx, event.payload);
    });
  }
}
