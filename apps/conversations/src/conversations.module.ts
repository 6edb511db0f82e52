import { Module } from '@nestjs/common';
import { CommonModule } from './common/common.module';
import { ConnectionsModule } from './connections/connections.module';
import { ContactsModule } from './contacts/contacts.module';
import { ConversationsFeatureModule } from './conversations/conversations.module';
import { ExclusionsModule } from './exclusions/exclusions.module';
import { MailboxStateModule } from './mailbox-state/mailbox-state.module';
import { MessagesModule } from './messages/messages.module';
import { SendingModule } from './sending/sending.module';
import { SyncEventsModule } from './sync-events/sync-events.module';

@Module({
  imports: [
    CommonModule,
    ContactsModule,
    ConnectionsModule,
    ConversationsFeatureModule,
    MessagesModule,
    SendingModule,
    SyncEventsModule,
    ExclusionsModule,
    MailboxStateModule,
  ],
})
export class ConversationsModule {}
