import { Inject, Injectable } from '@nestjs/common';
import { EventEnvelope, Topics, eventCatalog, sendFailedV1, sendSucceededV1 } from '@mailbridge/contracts';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { OnEvent, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { RecordSendOutcomeUseCase } from './record-send-outcome.use-case';

const GROUP = 'send-outcomes';

@Injectable()
export class SendOutcomeConsumer {
  constructor(
    private readonly outcomes: RecordSendOutcomeUseCase,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
  ) {}

  @OnEvent({ topic: Topics.mailDelivery, group: GROUP })
  async onDelivery(event: EventEnvelope): Promise<void> {
    if (eventCatalog.is(event, sendSucceededV1)) {
      await this.uow.handleOnce(GROUP, event, (tx) => this.outcomes.succeeded(tx.manager, event.payload));
    } else if (eventCatalog.is(event, sendFailedV1)) {
      await this.uow.handleOnce(GROUP, event, (tx) => this.outcomes.failed(tx.manager, event));
    }
  }
}
