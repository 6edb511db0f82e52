import type { INestApplication } from '@nestjs/common';
import type { ServiceDefinition } from '@mailbridge/platform-runtime';
import { LeaseEntity } from './common/lease.entity';
import {
  DEFAULT_SMTP_PORT,
  MAIL_GATEWAY_CONFIG,
  retentionRulesOf,
  type MailGatewayConfig,
} from './mail-gateway.config';
import { MailGatewayModule } from './mail-gateway.module';
import { GraphFolderEntity } from './mailboxes/graph-folder.entity';
import { MailboxConnectionEntity } from './mailboxes/mailbox-connection.entity';
import { MailboxEntity } from './mailboxes/mailbox.entity';
import { migrations } from './migrations';
import { SendLogEntity } from './sending/send-log.entity';
import { SmtpReceiver } from './smart-bcc/smtp-receiver.service';
import { ObservedMessageEntity } from './sync/observed-message.entity';

/** Where mail crosses the boundary: watches, webhooks, pulls, normalisation, sends. */
export const mailGatewayService: ServiceDefinition = {
  name: 'mail-gateway',
  schema: 'mail_gateway',
  defaultPort: 3002,
  module: MailGatewayModule,
  entities: [
    MailboxEntity,
    MailboxConnectionEntity,
    GraphFolderEntity,
    ObservedMessageEntity,
    SendLogEntity,
    LeaseEntity,
  ],
  migrations,
  openApi: {
    title: 'Mailbridge mail-gateway',
    description: 'Provider webhooks (Gmail Pub/Sub push, Microsoft Graph notifications) and health.',
  },
  retention: (app: INestApplication) => retentionRulesOf(app.get<MailGatewayConfig>(MAIL_GATEWAY_CONFIG)),
  listeners: (app: INestApplication) => {
    const address = app.get(SmtpReceiver).address();
    if (address) return [{ name: 'Auto-BCC SMTP', url: `smtp://${hostOf(address.address)}:${address.port}` }];
    const config = app.get<MailGatewayConfig>(MAIL_GATEWAY_CONFIG);
    return [
      {
        name: 'Auto-BCC SMTP',
        off: config.SMTP_ENABLED
          ? `port ${config.SMTP_PORT ?? DEFAULT_SMTP_PORT} was taken (set SMTP_PORT)`
          : 'SMTP_ENABLED=false',
      },
    ];
  },
};

const hostOf = (address: string) => (address.includes(':') ? `[${address}]` : address);
