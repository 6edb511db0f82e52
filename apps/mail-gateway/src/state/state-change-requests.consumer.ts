import { Injectable } from '@nestjs/common';
import { messageStateChangeRequestedV1 } from '@mailbridge/contracts';
import { ConsumerContext, EventOf, OnEvent } from '@mailbridge/platform-runtime';
import { ApplyStateChangeUseCase } from './apply-state-change.use-case';

/**
 * SYN-7: read/unread changes the CRM asks for (`conversations.mailbox-state.v1`, keyed by mailbox: one mailbox's
 * changes stay in order). Outside a transaction: the provider is called first, then the outcome is recorded once.
 */
@Injectable()
export class StateChangeRequestsConsumer {
  constructor(private readonly applyChange: ApplyStateChangeUseCase) {}

  @OnEvent(messageStateChangeRequestedV1, { group: 'mailbox-state', transaction: false })
  async onRequested(
    event: EventOf<typeof messageStateChangeRequestedV1>,
    consumer: ConsumerContext,
  ): Promise<void> {
    const { mailbox, outcome } = await this.applyChange.apply(event.payload);
    await consumer.handleOnce((tx) => this.applyChange.record(tx, event.payload, mailbox, outcome));
  }
}
