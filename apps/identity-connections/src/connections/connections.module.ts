import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OAuthClientsModule } from '../oauth-clients/oauth-clients.module';
import { VaultModule } from '../vault/vault.module';
import { AccessTokenService } from './access-token.service';
import { AdminConsentRequestsRepository } from './admin-consent-requests.repository';
import { SendAsService } from './send-as.service';
import { ConnectionAuditService } from './connection-audit.service';
import { ConnectionEntity } from './connection.entity';
import { ConnectionLifecycleService } from './connection-lifecycle.service';
import { ConnectionQueriesService } from './connection-queries.service';
import { ConnectionsController } from './connections.controller';
import { ConnectionsRepository } from './connections.repository';
import { InternalConnectionsController } from './internal-connections.controller';
import { SyncHealthConsumer } from './sync-health.consumer';
import { TokenRevocationsService } from './token-revocations.service';

@Module({
  imports: [TypeOrmModule.forFeature([ConnectionEntity]), VaultModule, OAuthClientsModule],
  controllers: [ConnectionsController, InternalConnectionsController],
  providers: [
    ConnectionsRepository,
    ConnectionLifecycleService,
    ConnectionQueriesService,
    TokenRevocationsService,
    AccessTokenService,
    SyncHealthConsumer,
    ConnectionAuditService,
    AdminConsentRequestsRepository,
    SendAsService,
  ],
  exports: [ConnectionsRepository, ConnectionLifecycleService, AdminConsentRequestsRepository],
})
export class ConnectionsModule {}
