import { Module } from '@nestjs/common';
import { MailboxSyncModule } from '../mailbox-sync.module';
import { WebhookIntakeUseCase } from './webhook-intake.use-case';
import { WebhooksController } from './webhooks.controller';

@Module({
  imports: [MailboxSyncModule],
  controllers: [WebhooksController],
  providers: [WebhookIntakeUseCase],
})
export class WebhooksModule {}
