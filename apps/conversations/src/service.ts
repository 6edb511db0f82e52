import type { ServiceDefinition } from '@mailbridge/platform-runtime';
import { ContactEntity } from './contacts/contact.entity';
import { ConversationsModule } from './conversations.module';
import { migrations } from './migrations';

/** The CRM-facing service: contacts, conversations, messages, sending, attachments, sync events. */
export const conversationsService: ServiceDefinition = {
  name: 'conversations',
  schema: 'conversations',
  defaultPort: 3004,
  module: ConversationsModule,
  entities: [ContactEntity],
  migrations,
  openApi: {
    title: 'Mailbridge conversations API',
    description: 'What the CRM gateway calls: contacts, conversations, messages, sending email, attachments.',
  },
};
