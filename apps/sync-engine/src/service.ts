import type { INestApplication } from '@nestjs/common';
import type { ServiceDefinition } from '@mailbridge/platform-runtime';
import { ConnectionProjectionEntity } from './connections/connection-projection.entity';
import { ContactProjectionEntity } from './contacts/contact-projection.entity';
import { MessageDecisionEntity } from './inbound/message-decision.entity';
import { migrations } from './migrations';
import { CrmSendEntity } from './sending/crm-send.entity';
import { SYNC_ENGINE_CONFIG, retentionRulesOf, type SyncEngineConfig } from './sync-engine.config';
import { SyncEngineModule } from './sync-engine.module';
import { ParkedMessageEntity } from './threads/parked-message.entity';
import { SmartBccAddressEntity } from './threads/smart-bcc-address.entity';
import { ThreadBindingEntity } from './threads/thread-binding.entity';
import { ThreadKeyEntity } from './threads/thread-key.entity';

/** The sync rules: thread bindings, contact matching, fan-out, routing. Consumes events, exposes inspection only. */
export const syncEngineService: ServiceDefinition = {
  name: 'sync-engine',
  schema: 'sync_engine',
  defaultPort: 3003,
  module: SyncEngineModule,
  entities: [
    ContactProjectionEntity,
    ConnectionProjectionEntity,
    ThreadBindingEntity,
    ThreadKeyEntity,
    ParkedMessageEntity,
    SmartBccAddressEntity,
    MessageDecisionEntity,
    CrmSendEntity,
  ],
  migrations,
  openApi: {
    title: 'Mailbridge sync-engine (internal)',
    description: 'Read-only inspection of the sync state: contact projection, decisions, thread bindings.',
  },
  retention: (app: INestApplication) => retentionRulesOf(app.get<SyncEngineConfig>(SYNC_ENGINE_CONFIG)),
};
