import { Injectable } from '@nestjs/common';
import { emailRequestedV1 } from '@mailbridge/contracts';
import { ConsumerContext, EventOf, OnEvent } from '@mailbridge/platform-runtime';
import { RouteEmailUseCase } from './route-email.use-case';

/** CRM email requests → routing (SND-1..3) and a send command, once per request. */
@Injectable()
export class EmailRequestsConsumer {
  constructor(private readonly routeEmail: RouteEmailUseCase) {}

  /** Outside the transaction: the owner's current connections are asked over HTTP first (SND-1). */
  @OnEvent(emailRequestedV1, { group: 'send-routing', transaction: false })
  async onEmailRequested(event: EventOf<typeof emailRequestedV1>, consumer: ConsumerContext): Promise<void> {
    const current = await this.routeEmail.currentConnections(event.payload);
    await consumer.handleOnce((tx) => this.routeEmail.execute(tx, event.payload, current));
  }
}
