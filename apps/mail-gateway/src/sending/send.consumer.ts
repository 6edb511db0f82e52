import { Injectable } from '@nestjs/common';
import { sendRequestedV1 } from '@mailbridge/contracts';
import { ConsumerContext, EventOf, OnEvent } from '@mailbridge/platform-runtime';
import { SendEmailUseCase } from './send-email.use-case';

/**
 * Redeliveries with backoff while a provider is throttling or unavailable, then a final, reported failure. At most
 * 31 s of waiting in all: one send never holds its connection's other sends longer (the platform refuses > 45 s).
 */
export const SEND_RETRY = { maxAttempts: 6, initialDelayMs: 1_000, maxDelayMs: 16_000 } as const;

/**
 * Send commands from sync-engine (`mail.send.v1`, keyed by connection: one mailbox's sends stay in order). Outside a
 * transaction: the provider is called, and the use case records the send once by its own idempotency (sendId).
 */
@Injectable()
export class SendConsumer {
  constructor(private readonly sendEmail: SendEmailUseCase) {}

  @OnEvent(sendRequestedV1, { group: 'send', retry: SEND_RETRY, transaction: false })
  async onSendRequested(event: EventOf<typeof sendRequestedV1>, consumer: ConsumerContext): Promise<void> {
    await this.sendEmail.execute(event.payload, consumer.delivery.attempt >= SEND_RETRY.maxAttempts);
  }
}
