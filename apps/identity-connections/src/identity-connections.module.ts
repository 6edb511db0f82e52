import { Module } from '@nestjs/common';
import { IdentityConfigModule } from './config.module';
import { ConnectionsModule } from './connections/connections.module';
import { ExclusionsModule } from './exclusions/exclusions.module';
import { OAuthModule } from './oauth/oauth.module';
import { SmartBccModule } from './smart-bcc/smart-bcc.module';

/** Connections, OAuth flows and the token vault (issue: identity-connections). */
@Module({
  imports: [IdentityConfigModule, ConnectionsModule, OAuthModule, SmartBccModule, ExclusionsModule],
})
export class IdentityConnectionsModule {}
