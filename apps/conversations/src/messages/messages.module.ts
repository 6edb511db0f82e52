import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConversationsFeatureModule } from '../conversations/conversations.module';
import { AttachmentEntity } from './attachment.entity';
import { MessageActivityRepository } from './message-activity.repository';
import { MessageActivityService } from './message-activity.service';
import { MessageEntity } from './message.entity';
import { MessagesController } from './messages.controller';
import { MessagesBatchRepository } from './messages-batch.repository';
import { MessagesRepository } from './messages.repository';
import { MessagesService } from './messages.service';
import { RecordSyncedBatchUseCase } from './record-synced-batch.use-case';
import { RecordSyncedMessageUseCase } from './record-synced-message.use-case';
import { SyncedMessagesConsumer } from './synced-messages.consumer';

@Module({
  imports: [TypeOrmModule.forFeature([MessageEntity, AttachmentEntity]), ConversationsFeatureModule],
  controllers: [MessagesController],
  providers: [
    MessagesRepository,
    MessagesBatchRepository,
    MessagesService,
    RecordSyncedMessageUseCase,
    RecordSyncedBatchUseCase,
    SyncedMessagesConsumer,
    MessageActivityRepository,
    MessageActivityService,
  ],
  exports: [MessagesRepository, MessagesService],
})
export class MessagesModule {}
