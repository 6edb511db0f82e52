import { Module } from '@nestjs/common';
import { CommonModule } from './common/common.module';
import { SendingModule } from './sending/sending.module';
import { MailboxSyncModule } from './sync/mailbox-sync.module';
import { WebhooksModule } from './webhooks/webhooks.module';

/** Mailboxes, provider webhooks, pulls and sends (issue: mail-gateway). */
@Module({ imports: [CommonModule, MailboxSyncModule, WebhooksModule, SendingModule] })
export class MailGatewayModule {}
