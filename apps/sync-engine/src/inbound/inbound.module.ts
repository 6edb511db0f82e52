import { Module } from '@nestjs/common';
import { ConnectionsModule } from '../connections/connections.module';
import { ThreadsModule } from '../threads/threads.module';
import { BatchContextRepository } from './batch-context.repository';
import { MessageDecisionRepository } from './message-decision.repository';
import { ObserveBatchUseCase } from './observe-batch.use-case';
import { ObserveMessageUseCase } from './observe-message.use-case';
import { ObservedMessagesConsumer } from './observed-messages.consumer';
import { SyncContextRepository } from './sync-context.repository';

/** Observed mailbox messages through the sync rules (SYN, ADR, ATT, BCC). */
@Module({
  imports: [ThreadsModule, ConnectionsModule],
  providers: [
    SyncContextRepository,
    BatchContextRepository,
    MessageDecisionRepository,
    ObserveMessageUseCase,
    ObserveBatchUseCase,
    ObservedMessagesConsumer,
  ],
  exports: [ObserveMessageUseCase, MessageDecisionRepository],
})
export class InboundModule {}
