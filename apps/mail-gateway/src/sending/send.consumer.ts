import { Injectable } from '@nestjs/common';
import { Topics, eventCatalog, sendRequestedV1, type EventEnvelope } from '@mailbridge/contracts';
import type { DeliveryContext } from '@mailbridge/platform-messaging';
import { OnEvent } from '@mailbridge/platform-runtime';
import { SendEmailUseCase } from './send-email.use-case';

/** Redeliveries with backoff while a provider is throttling or unavailable, then a final, reported failure. */
export const SEND_RETRY = { maxAttempts: 8, initialDelayMs: 1_000, maxDelayMs: 60_000 } as const;

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
