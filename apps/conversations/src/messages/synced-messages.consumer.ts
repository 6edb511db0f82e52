import { Inject, Injectable } from '@nestjs/common';
import { EventEnvelope, Topics, eventCatalog, messageSyncedV1 } from '@mailbridge/contracts';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { OnEvent, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { RecordSyncedMessageUseCase } from './record-synced-message.use-case';

const GROUP = 'synced-messages';

/** message.synced → the conversation's message list (other events of the topic are another group's). */
@Injectable()
export class SyncedMessagesConsumer {
  constructor(
    private readonly recordSyncedMessage: RecordSyncedMessageUseCase,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
  ) {}

  @OnEvent({ topic: Topics.syncMessages, group: GROUP })
  async onSyncMessage(event: EventEnvelope): Promise<void> {
    if (!eventCatalog.is(event, messageSyncedV1)) return;
    await this.uow.handleOnce(GROUP, event, (tx) =>
      this.recordSyncedMessage.execute(tx.manager, event.payload).then(() => undefined),
    );
  }
}
