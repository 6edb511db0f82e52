import { Injectable } from '@nestjs/common';
import { messageSyncedV1 } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { EventOf, OnEvent, OnEventBatch } from '@mailbridge/platform-runtime';
import { RecordSyncedBatchUseCase } from './record-synced-batch.use-case';
import { RecordSyncedMessageUseCase } from './record-synced-message.use-case';

/** message.synced → the conversation's message list (other events of the topic are another group's). */
@Injectable()
export class SyncedMessagesConsumer {
  constructor(
    private readonly recordSyncedMessage: RecordSyncedMessageUseCase,
    private readonly recordSyncedBatch: RecordSyncedBatchUseCase,
  ) {}

  /**
   * The batch path (issue 16): a batch's messages recorded set-based in one transaction. If it fails, the batch goes
   * one event at a time through `onSyncMessage` below, so a poison event only fails itself.
   */
  @OnEventBatch(messageSyncedV1, { group: 'synced-messages' })
  async onSyncMessages(
    events: readonly EventOf<typeof messageSyncedV1>[],
    tx: TransactionContext,
  ): Promise<void> {
    await this.recordSyncedBatch.execute(
      tx,
      events.map((e) => ({
        payload: e.payload,
        context: { correlationId: e.correlationId, traceparent: e.traceparent },
      })),
    );
  }

  @OnEvent(messageSyncedV1, { group: 'synced-messages' })
  async onSyncMessage(event: EventOf<typeof messageSyncedV1>, tx: TransactionContext): Promise<void> {
    await this.recordSyncedMessage.execute(tx, event.payload);
  }
}
