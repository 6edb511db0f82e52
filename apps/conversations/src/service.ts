import type { INestApplication } from '@nestjs/common';
import type { ServiceDefinition } from '@mailbridge/platform-runtime';
import { RateLimitBucketEntity } from './common/rate-limit-bucket.entity';
import { CONVERSATIONS_CONFIG } from './common/tokens';
import { ConnectionEntity } from './connections/connection.entity';
import { ContactEntity } from './contacts/contact.entity';
import { retentionRulesOf, type ConversationsConfig } from './conversations.config';
import { ConversationsModule } from './conversations.module';
import { ConversationEntity } from './conversations/conversation.entity';
import { AttachmentEntity } from './messages/attachment.entity';
import { MessageEntity } from './messages/message.entity';
import { migrations } from './migrations';
import { SEND_EMAIL_ROUTE } from './sending/sending.controller';
import { IdempotencyKeyEntity } from './sending/idempotency-key.entity';
import { UploadEntity } from './sending/upload.entity';
import { SyncEventEntity } from './sync-events/sync-event.entity';

/** The CRM-facing service: contacts, conversations, messages, sending, attachments, sync events. */
export const conversationsService: ServiceDefinition = {
  name: 'conversations',
  schema: 'conversations',
  defaultPort: 3004,
  module: ConversationsModule,
  entities: [
    ContactEntity,
    ConversationEntity,
    MessageEntity,
    AttachmentEntity,
    IdempotencyKeyEntity,
    UploadEntity,
    SyncEventEntity,
    ConnectionEntity,
    RateLimitBucketEntity,
  ],
  migrations,
  openApi: {
    title: 'Mailbridge conversations API',
    description:
      'What the CRM gateway calls: contacts, conversations, messages, sending email, attachments, sync events. ' +
      'Every route takes a bearer JWT (`sub` = CRM user, `loc` = location) and only ever serves that location. ' +
      'Errors are `{ "error": { "code", "message", "details"? } }`.',
  },
  // The send route takes inline base64 attachments (SEND_BODY_LIMIT_BYTES), more than the service-wide JSON limit.
  jsonBodyLimits: (app: INestApplication) => [
    {
      path: `/${SEND_EMAIL_ROUTE}`,
      limitBytes: app.get<ConversationsConfig>(CONVERSATIONS_CONFIG).SEND_BODY_LIMIT_BYTES,
    },
  ],
  retention: (app: INestApplication) => retentionRulesOf(app.get<ConversationsConfig>(CONVERSATIONS_CONFIG)),
};
