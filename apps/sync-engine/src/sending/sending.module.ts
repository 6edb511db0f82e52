import { Module } from '@nestjs/common';
import { ConnectionsModule } from '../connections/connections.module';
import { InboundModule } from '../inbound/inbound.module';
import { ThreadsModule } from '../threads/threads.module';
import { CrmSendRepository } from './crm-send.repository';
import { EmailRequestsConsumer } from './email-requests.consumer';
import { RecordSendResultUseCase } from './record-send-result.use-case';
import { RouteEmailUseCase } from './route-email.use-case';
import { SendResultsConsumer } from './send-results.consumer';

/** CRM email requests: routing (SND-1..3), attachment re-checks, send commands, and their results. */
@Module({
  imports: [ConnectionsModule, InboundModule, ThreadsModule],
  providers: [
    CrmSendRepository,
    RouteEmailUseCase,
    RecordSendResultUseCase,
    EmailRequestsConsumer,
    SendResultsConsumer,
  ],
  exports: [CrmSendRepository],
})
export class SendingModule {}
