import { Module } from '@nestjs/common';
import { ThreadsModule } from '../threads/threads.module';
import { ApplyConnectionChangeUseCase } from './apply-connection-change.use-case';
import { ConnectionProjectionRepository } from './connection-projection.repository';
import { ConnectionsConsumer } from './connections.consumer';
import { IdentityConnectionsClient } from './identity-connections.client';

/** The connection projection (identity-connections' lifecycle events) and the end of bindings it causes. */
@Module({
  imports: [ThreadsModule],
  providers: [
    ConnectionProjectionRepository,
    ApplyConnectionChangeUseCase,
    ConnectionsConsumer,
    IdentityConnectionsClient,
  ],
  exports: [ConnectionProjectionRepository, IdentityConnectionsClient],
})
export class ConnectionsModule {}
