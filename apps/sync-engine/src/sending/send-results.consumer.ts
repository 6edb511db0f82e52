import { Injectable } from '@nestjs/common';
import { eventCatalog, sendFailedV1, sendSucceededV1 } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { EventOf, OnEvent } from '@mailbridge/platform-runtime';
import { RecordSendResultUseCase } from './record-send-result.use-case';

const RESULTS = [sendSucceededV1, sendFailedV1] as const;

/** Send results from mail-gateway → thread bindings (SYN-1, SYN-4). */
@Injectable()
export class SendResultsConsumer {
  constructor(private readonly results: RecordSendResultUseCase) {}

  @OnEvent(RESULTS, { group: 'send-results' })
  async onSendResult(event: EventOf<typeof RESULTS>, tx: TransactionContext): Promise<void> {
    if (eventCatalog.is(event, sendSucceededV1)) await this.results.succeeded(tx, event.payload);
    else await this.results.failed(tx, event.payload);
  }
}
