import { Module } from '@nestjs/common';
import { ConversationsFeatureModule } from '../conversations/conversations.module';
import { MessagesModule } from '../messages/messages.module';
import { MailboxStateConsumer } from './mailbox-state.consumer';
import { MailboxStateController } from './mailbox-state.controller';
import { MailboxStateRepository } from './mailbox-state.repository';
import { MarkReadUseCase } from './mark-read.use-case';

/** SYN-7: mailbox state both ways (read / trashed / deleted from the mailbox; read / unread from the CRM). */
@Module({
  imports: [ConversationsFeatureModule, MessagesModule],
  controllers: [MailboxStateController],
  providers: [MailboxStateRepository, MarkReadUseCase, MailboxStateConsumer],
})
export class MailboxStateModule {}
