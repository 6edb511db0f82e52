import { Module } from '@nestjs/common';
import { CommonModule } from './common.module';
import { SendingModule } from './sending/sending.module';
import { SmartBccModule } from './smart-bcc/smart-bcc.module';
import { MailboxSyncModule } from './mailbox-sync.module';
import { WebhooksModule } from './webhooks/webhooks.module';

/** Mailboxes, provider webhooks, pulls and sends (issue: mail-gateway); the Auto-BCC SMTP receiver (issue 8). */
@Module({ imports: [CommonModule, MailboxSyncModule, WebhooksModule, SendingModule, SmartBccModule] })
export class MailGatewayModule {}
