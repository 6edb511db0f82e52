import { Injectable } from '@nestjs/common';
import { messageObservedV1 } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { ConsumerContext, EventOf, OnEvent, OnEventBatch } from '@mailbridge/platform-runtime';
import { IdentityConnectionsClient } from '../connections/identity-connections.client';
import { ObserveBatchUseCase } from './observe-batch.use-case';
import { ConnectionsMayBeBehindError, ObserveMessageUseCase } from './observe-message.use-case';

/**
 * Observed mailbox messages → the sync rules (once per event; repeats of a message are recognised by the use case).
 * When the projection shows no live connection for the mailbox, the owner (identity-connections) is asked once,
 * outside any transaction (the embedded database has one backend), and the message is decided with its answer:
 * hence `transaction: false`.
 */
@Injectable()
export class ObservedMessagesConsumer {
  constructor(
    private readonly observe: ObserveMessageUseCase,
    private readonly batch: ObserveBatchUseCase,
    private readonly identity: IdentityConnectionsClient,
  ) {}

  /**
   * The batch path (issue 16): a batch of observed messages in one transaction. A message whose mailbox the
   * projection does not show live throws, and the batch goes one message at a time through `onObserved` below.
   */
  @OnEventBatch(messageObservedV1, { group: 'sync-rules' })
  async onObservedBatch(
    events: readonly EventOf<typeof messageObservedV1>[],
    tx: TransactionContext,
  ): Promise<void> {
    await this.batch.executeBatch(
      tx,
      events.map((e) => ({
        eventId: e.id,
        observed: e.payload,
        context: { correlationId: e.correlationId, traceparent: e.traceparent },
      })),
    );
  }

  @OnEvent(messageObservedV1, { group: 'sync-rules', transaction: false })
  async onObserved(event: EventOf<typeof messageObservedV1>, consumer: ConsumerContext): Promise<void> {
    try {
      await consumer.handleOnce(async (tx) => {
        await this.observe.execute(tx, event.id, event.payload);
      });
    } catch (error) {
      if (!(error instanceof ConnectionsMayBeBehindError)) throw error;
      const current = await this.identity.forMailbox(error.mailboxKey);
      await consumer.handleOnce(async (tx) => {
        await this.observe.execute(tx, event.id, event.payload, current);
      });
    }
  }
}
