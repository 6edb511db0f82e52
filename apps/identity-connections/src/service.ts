import type { ServiceDefinition } from '@mailbridge/platform-runtime';
import { IdentityConnectionsModule } from './identity-connections.module';
import { migrations } from './migrations';

/** Connections of users to their mailboxes, OAuth consent, encrypted tokens. */
export const identityConnectionsService: ServiceDefinition = {
  name: 'identity-connections',
  schema: 'identity_connections',
  defaultPort: 3001,
  module: IdentityConnectionsModule,
  entities: [],
  migrations,
  openApi: {
    title: 'Mailbridge identity-connections API',
    description: 'Connect, update, re-authenticate and disconnect Gmail and Outlook mailboxes.',
  },
};
