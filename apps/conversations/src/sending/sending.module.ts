import { SendAsClient } from './send-as.client';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConnectionsModule } from '../connections/connections.module';
import { ContactsModule } from '../contacts/contacts.module';
import { ConversationsFeatureModule } from '../conversations/conversations.module';
import { MessagesModule } from '../messages/messages.module';
import { SyncEventsModule } from '../sync-events/sync-events.module';
import { IdempotencyKeyEntity } from './idempotency-key.entity';
import { IdempotencyRepository } from './idempotency.repository';
import { RecordSendOutcomeUseCase } from './record-send-outcome.use-case';
import { SendEmailUseCase } from './send-email.use-case';
import { SendOutcomeConsumer } from './send-outcome.consumer';
import { SendingController } from './sending.controller';
import { UploadAttachmentUseCase } from './upload-attachment.use-case';
import { UploadEntity } from './upload.entity';
import { UploadsController } from './uploads.controller';
import { UploadsRepository } from './uploads.repository';

@Module({
  imports: [
    TypeOrmModule.forFeature([IdempotencyKeyEntity, UploadEntity]),
    ContactsModule,
    ConnectionsModule,
    ConversationsFeatureModule,
    MessagesModule,
    SyncEventsModule,
  ],
  controllers: [SendingController, UploadsController],
  providers: [
    IdempotencyRepository,
    UploadsRepository,
    SendEmailUseCase,
    UploadAttachmentUseCase,
    RecordSendOutcomeUseCase,
    SendOutcomeConsumer,
    SendAsClient,
  ],
})
export class SendingModule {}
