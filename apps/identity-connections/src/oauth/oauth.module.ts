import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConnectionsModule } from '../connections/connections.module';
import { VaultModule } from '../vault/vault.module';
import { ConnectMailboxUseCase } from './connect-mailbox.use-case';
import { ConnectController } from './connect.controller';
import { OAuthCallbackController } from './oauth-callback.controller';
import { OAuthClientsModule } from '../oauth-clients/oauth-clients.module';
import { OAuthFlowsService } from './oauth-flows.service';
import { OAuthStatesRepository } from './oauth-states.repository';
import { OAuthStateEntity } from './oauth-state.entity';

@Module({
  imports: [TypeOrmModule.forFeature([OAuthStateEntity]), VaultModule, OAuthClientsModule, ConnectionsModule],
  controllers: [ConnectController, OAuthCallbackController],
  providers: [OAuthFlowsService, OAuthStatesRepository, ConnectMailboxUseCase],
})
export class OAuthModule {}
