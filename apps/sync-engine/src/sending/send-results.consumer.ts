import { Inject, Injectable } from '@nestjs/common';
import { EventEnvelope, Topics, eventCatalog, sendFailedV1, sendSucceededV1 } from '@mailbridge/contracts';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { OnEvent, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { RecordSendResultUseCase } from './record-send-result.use-case';

/** Send results from mail-gateway → thread bindings (SYN-1, SYN-4). */
@Injectable()
export class SendResultsConsumer {
  constructor(
    private readonly results: RecordSendResultUseCase,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
  ) {}

  @OnEvent({ topic: Topics.mailDelivery, group: 'send-results' })
  async onSendResult(event: EventEnvelope): Promise<void> {
    if (eventCatalog.is(event, sendSucceededV1)) {
      const payload = event.payload;
      await this.uow.handleOnce('send-results', event, (tx) => this.results.succeeded(tx, payload));
    } else if (eventCatalog.is(event, sendFailedV1)) {
      const payload = event.payload;
      await this.uow.handleOnce('send-results', event, (tx) => this.results.failed(tx, payload));
    }
  }
}
