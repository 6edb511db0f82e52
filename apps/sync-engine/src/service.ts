import type { ServiceDefinition } from '@mailbridge/platform-runtime';
import { ContactProjectionEntity } from './contacts/contact-projection.entity';
import { migrations } from './migrations';
import { SyncEngineModule } from './sync-engine.module';

/** The sync rules: thread bindings, contact matching, fan-out, routing. Consumes events, exposes inspection only. */
export const syncEngineService: ServiceDefinition = {
  name: 'sync-engine',
  schema: 'sync_engine',
  defaultPort: 3003,
  module: SyncEngineModule,
  entities: [ContactProjectionEntity],
  migrations,
  openApi: {
    title: 'Mailbridge sync-engine (internal)',
    description: 'Read-only inspection of the sync state: contact projection, decisions.',
  },
};
