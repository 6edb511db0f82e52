import { Injectable } from '@nestjs/common';
import { messageObservedV1 } from '@mailbridge/contracts';
import { ConsumerContext, EventOf, OnEvent } from '@mailbridge/platform-runtime';
import { IdentityConnectionsClient } from '../connections/identity-connections.client';
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
    private readonly identity: IdentityConnectionsClient,
  ) {}

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
