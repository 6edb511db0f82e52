import { Injectable } from '@nestjs/common';
import { Topics, eventCatalog, sendRequestedV1, type EventEnvelope } from '@mailbridge/contracts';
import type { DeliveryContext } from '@mailbridge/platform-messaging';
import { OnEvent } from '@mailbridge/platform-runtime';
import { SendEmailUseCase } from './send-email.use-case';

/**
 * Redeliveries with backoff while a provider is throttling or unavailable, then a final, reported failure. At most
 * 31 s of waiting in all: one send never holds its connection's other sends longer (the platform refuses > 45 s).
 */
export const SEND_RETRY = { maxAttempts: 6, initialDelayMs: 1_000, maxDelayMs: 16_000 } as const;

/** Send commands from sync-engine (`mail.send.v1`, keyed by connection: one mailbox's sends stay in order). */
@Injectable()
export class SendConsumer {
  constructor(private readonly sendEmail: SendEmailUseCase) {}

  @OnEvent({ topic: Topics.mailSend, group: 'send', retry: SEND_RETRY })
  async onSendRequested(event: EventEnvelope, context: DeliveryContext): Promise<void> {
    if (!eventCatalog.is(event, sendRequestedV1)) return;
    await this.sendEmail.execute(event.payload, context.attempt >= SEND_RETRY.maxAttempts);
  }
}
