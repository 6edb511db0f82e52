import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditScheduler } from './audit/audit-scheduler.service';
import { DecisionsConsumer } from './audit/decisions.consumer';
import { InternalAuditController } from './audit/internal-audit.controller';
import { MailboxAuditService } from './audit/mailbox-audit.service';
import { MessageLedgerRepository } from './ledger/message-ledger.repository';
import { SyncExclusionScreen } from './exclusions/sync-exclusion.screen';
import { SyncExclusionsConsumer } from './exclusions/sync-exclusions.consumer';
import { SyncExclusionsRepository } from './exclusions/sync-exclusions.repository';
import { ApplyConnectionChangeUseCase } from './mailboxes/apply-connection-change.use-case';
import { ConnectionsConsumer } from './sync/connections.consumer';
import { GraphFolderEntity } from './mailboxes/graph-folder.entity';
import { MailboxConnectionEntity } from './mailboxes/mailbox-connection.entity';
import { MailboxEntity } from './mailboxes/mailbox.entity';
import { MailboxesRepository } from './mailboxes/mailboxes.repository';
import { ApplyStateChangeUseCase } from './state/apply-state-change.use-case';
import { MailboxStateService } from './state/mailbox-state.service';
import { MessageStateRepository } from './state/message-state.repository';
import { StateChangeRequestsConsumer } from './state/state-change-requests.consumer';
import { GmailPullService } from './sync/gmail-pull.service';
import { GraphPullService } from './sync/graph-pull.service';
import { HandleNotificationUseCase } from './sync/handle-notification.use-case';
import { InternalQuarantineController } from './sync/internal-quarantine.controller';
import { MailboxProcessor } from './sync/mailbox-processor.service';
import { MailboxWatchService } from './sync/mailbox-watch.service';
import { MessageFailuresRepository } from './sync/message-failures.repository';
import { MessageIsolation } from './sync/message-isolation.service';
import { MessageNormalizer } from './sync/message-normalizer.service';
import { NotificationsConsumer } from './sync/notifications.consumer';
import { ObservedMessagePublisher } from './sync/observed-message.publisher';
import { ObservedMessagesRepository } from './sync/observed-messages.repository';
import { RetryQuarantinedMessageUseCase } from './sync/retry-quarantined-message.use-case';
import { SyncHealthService } from './mailboxes/sync-health.service';
import { SyncScheduler } from './sync/sync-scheduler.service';

/**
 * Mailboxes (from connection events), their watches, pulls, normalisation, observed events and health; the ledger of
 * outcomes and the completeness audit (SYN-10); the exclusion lists that refuse mail before it is stored (SYN-8).
 */
@Module({
  imports: [TypeOrmModule.forFeature([MailboxEntity, MailboxConnectionEntity, GraphFolderEntity])],
  controllers: [InternalQuarantineController, InternalAuditController],
  providers: [
    MailboxesRepository,
    ApplyConnectionChangeUseCase,
    ConnectionsConsumer,
    HandleNotificationUseCase,
    NotificationsConsumer,
    SyncHealthService,
    MailboxWatchService,
    MessageNormalizer,
    ObservedMessagePublisher,
    ObservedMessagesRepository,
    MessageFailuresRepository,
    MessageIsolation,
    GmailPullService,
    GraphPullService,
    MailboxProcessor,
    SyncScheduler,
    RetryQuarantinedMessageUseCase,
    MessageLedgerRepository,
    DecisionsConsumer,
    MailboxAuditService,
    AuditScheduler,
    SyncExclusionsRepository,
    SyncExclusionScreen,
    SyncExclusionsConsumer,
    MessageStateRepository,
    MailboxStateService,
    ApplyStateChangeUseCase,
    StateChangeRequestsConsumer,
  ],
  exports: [MailboxesRepository, MessageNormalizer, ObservedMessagePublisher, ObservedMessagesRepository],
})
export class MailboxSyncModule {}
