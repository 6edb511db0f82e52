import type { ServiceDefinition } from '@mailbridge/platform-runtime';
import { ConnectionEntity } from './connections/connection.entity';
import { IdentityConnectionsModule } from './identity-connections.module';
import { migrations } from './migrations';
import { OAuthStateEntity } from './oauth/oauth-state.entity';
import { SmartBccAddressEntity } from './smart-bcc/smart-bcc-address.entity';
import { ConnectionTokenEntity } from './vault/connection-token.entity';
import { TokenRevocationEntity } from './vault/token-revocation.entity';

/** Connections of users to their mailboxes, OAuth consent, encrypted tokens. */
export const identityConnectionsService: ServiceDefinition = {
  name: 'identity-connections',
  schema: 'identity_connections',
  defaultPort: 3001,
  module: IdentityConnectionsModule,
  entities: [
    ConnectionEntity,
    ConnectionTokenEntity,
    TokenRevocationEntity,
    OAuthStateEntity,
    SmartBccAddressEntity,
  ],
  migrations,
  openApi: {
    title: 'Mailbridge identity-connections API',
    description: 'Connect, update, re-authenticate and disconnect Gmail and Outlook mailboxes.',
  },
};
