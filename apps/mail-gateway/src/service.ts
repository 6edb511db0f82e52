import type { ServiceDefinition } from '@mailbridge/platform-runtime';
import { MailGatewayModule } from './mail-gateway.module';
import { migrations } from './migrations';

/** Where mail crosses the boundary: watches, webhooks, pulls, normalisation, sends. */
export const mailGatewayService: ServiceDefinition = {
  name: 'mail-gateway',
  schema: 'mail_gateway',
  defaultPort: 3002,
  module: MailGatewayModule,
  entities: [],
  migrations,
  openApi: {
    title: 'Mailbridge mail-gateway',
    description: 'Provider webhooks (Gmail Pub/Sub push, Microsoft Graph notifications) and health.',
  },
};
