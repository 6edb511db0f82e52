import { Injectable } from '@nestjs/common';
import { eventCatalog, sendFailedV1, sendRefusedV1, sendSucceededV1 } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { EventOf, OnEvent } from '@mailbridge/platform-runtime';
import { RecordSendOutcomeUseCase } from './record-send-outcome.use-case';

const OUTCOMES = [sendSucceededV1, sendFailedV1] as const;

@Injectable()
export class SendOutcomeConsumer {
  constructor(private readonly outcomes: RecordSendOutcomeUseCase) {}

  @OnEvent(OUTCOMES, { group: 'send-outcomes' })
  async onDelivery(event: EventOf<typeof OUTCOMES>, tx: TransactionContext): Promise<void> {
    if (eventCatalog.is(event, sendSucceededV1)) await this.outcomes.succeeded(tx, event.payload);
    else await this.outcomes.failed(tx, event);
  }

  /** sync-engine refused to route it: the same outcome for the CRM as a failed send. */
  @OnEvent(sendRefusedV1, { group: 'send-refusals' })
  async onRefusal(event: EventOf<typeof sendRefusedV1>, tx: TransactionContext): Promise<void> {
    await this.outcomes.failed(tx, event);
  }
}
