import { SendAsResolver } from './send-as.resolver';
import { Module } from '@nestjs/common';
import { MailboxSyncModule } from '../mailbox-sync.module';
import { GmailSendDriver } from './gmail-send.driver';
import { GraphSendDriver } from './graph-send.driver';
import { LocationProviderDriver } from './location-provider.driver';
import { SendConsumer } from './send.consumer';
import { SendEmailUseCase } from './send-email.use-case';
import { SendLogRepository } from './send-log.repository';

/** Send commands through the user's mailbox or the location provider, at most once each (SND-6), within caps. */
@Module({
  imports: [MailboxSyncModule],
  providers: [
    SendLogRepository,
    GmailSendDriver,
    GraphSendDriver,
    LocationProviderDriver,
    SendEmailUseCase,
    SendConsumer,
    SendAsResolver,
  ],
})
export class SendingModule {}
