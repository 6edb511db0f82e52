import { Module } from '@nestjs/common';
import { ThreadsModule } from '../threads/threads.module';
import { ApplyConnectionChangeUseCase } from './apply-connection-change.use-case';
import { ConnectionProjectionRepository } from './connection-projection.repository';
import { ConnectionsConsumer } from './connections.consumer';

/** The connection projection (identity-connections' lifecycle events) and the end of bindings it causes. */
@Module({
  imports: [ThreadsModule],
  providers: [ConnectionProjectionRepository, ApplyConnectionChangeUseCase, ConnectionsConsumer],
  exports: [ConnectionProjectionRepository],
})
export class ConnectionsModule {}
