import { Injectable } from '@nestjs/common';
import { messageSyncedV1 } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { EventOf, OnEvent } from '@mailbridge/platform-runtime';
import { RecordSyncedMessageUseCase } from './record-synced-message.use-case';

/** message.synced → the conversation's message list (other events of the topic are another group's). */
@Injectable()
export class SyncedMessagesConsumer {
  constructor(private readonly recordSyncedMessage: RecordSyncedMessageUseCase) {}

  @OnEvent(messageSyncedV1, { group: 'synced-messages' })
  async onSyncMessage(event: EventOf<typeof messageSyncedV1>, tx: TransactionContext): Promise<void> {
    await this.recordSyncedMessage.execute(tx, event.payload);
  }
}
