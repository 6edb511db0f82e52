import { Inject, Injectable } from '@nestjs/common';
import { EventEnvelope, Topics, emailRequestedV1, eventCatalog } from '@mailbridge/contracts';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { OnEvent, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { RouteEmailUseCase } from './route-email.use-case';

/** CRM email requests → routing (SND-1..3) and a send command, once per request. */
@Injectable()
export class EmailRequestsConsumer {
  constructor(
    private readonly routeEmail: RouteEmailUseCase,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
  ) {}

  @OnEvent({ topic: Topics.conversationsOutbound, group: 'send-routing' })
  async onEmailRequested(event: EventEnvelope): Promise<void> {
    if (!eventCatalog.is(event, emailRequestedV1)) return;
    const current = await this.routeEmail.currentConnections(event.payload);
    await this.uow.handleOnce('send-routing', event, (tx) =>
      this.routeEmail.execute(tx, event.payload, current),
    );
  }
}
