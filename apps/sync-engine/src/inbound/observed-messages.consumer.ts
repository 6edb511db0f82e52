import { Inject, Injectable } from '@nestjs/common';
import { EventEnvelope, Topics, eventCatalog, messageObservedV1 } from '@mailbridge/contracts';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { OnEvent, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { IdentityConnectionsClient } from '../connections/identity-connections.client';
import { ConnectionsMayBeBehindError, ObserveMessageUseCase } from './observe-message.use-case';

/**
 * Observed mailbox messages → the sync rules (once per event; repeats of a message are recognised by the use case).
 * When the projection shows no live connection for the mailbox, the owner (identity-connections) is asked once,
 * outside any transaction (the embedded database has one backend), and the message is decided with its answer.
 */
@Injectable()
export class ObservedMessagesConsumer {
  constructor(
    private readonly observe: ObserveMessageUseCase,
    private readonly identity: IdentityConnectionsClient,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
  ) {}

  @OnEvent({ topic: Topics.mailObserved, group: 'sync-rules' })
  async onObserved(event: EventEnvelope): Promise<void> {
    if (!eventCatalog.is(event, messageObservedV1)) return;
    try {
      await this.uow.handleOnce('sync-rules', event, async (tx) => {
        await this.observe.execute(tx, event.id, event.payload);
      });
    } catch (error) {
      if (!(error instanceof ConnectionsMayBeBehindError)) throw error;
      const current = await this.identity.forMailbox(error.mailboxKey);
      await this.uow.handleOnce('sync-rules', event, async (tx) => {
        await this.observe.execute(tx, event.id, event.payload, current);
      });
    }
  }
}
