import { Inject, Injectable } from '@nestjs/common';
import { EventEnvelope, Topics, eventCatalog, messageObservedV1 } from '@mailbridge/contracts';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { OnEvent, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { ObserveMessageUseCase } from './observe-message.use-case';

/** Observed mailbox messages → the sync rules (once per event; repeats of a message are recognised by the use case). */
@Injectable()
export class ObservedMessagesConsumer {
  constructor(
    private readonly observe: ObserveMessageUseCase,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
  ) {}

  @OnEvent({ topic: Topics.mailObserved, group: 'sync-rules' })
  async onObserved(event: EventEnvelope): Promise<void> {
    if (!eventCatalog.is(event, messageObservedV1)) return;
    await this.uow.handleOnce('sync-rules', event, async (tx) => {
      await this.observe.execute(tx, event.id, event.payload);
    });
  }
}
