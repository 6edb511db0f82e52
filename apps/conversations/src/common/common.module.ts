import { Global, Module } from '@nestjs/common';
import { loadConfig } from '@mailbridge/platform-config';
import { createObjectStore, objectStoreConfigOf } from '@mailbridge/platform-object-store';
import { SERVICE_HOST, type ServiceHost } from '@mailbridge/platform-runtime';
import { ConversationsConfig, conversationsConfigSchema } from '../conversations.config';
import { RateLimitGuard } from './rate-limit.guard';
import { RateLimitRepository } from './rate-limit.repository';
import { CONVERSATIONS_CONFIG, OBJECT_STORE } from './tokens';

/** What every capability of the service shares: its validated settings, the object store, the rate limit. */
@Global()
@Module({
  providers: [
    {
      provide: CONVERSATIONS_CONFIG,
      inject: [SERVICE_HOST],
      useFactory: (host: ServiceHost) => loadConfig(conversationsConfigSchema, host.env),
    },
    {
      provide: OBJECT_STORE,
      inject: [CONVERSATIONS_CONFIG],
      useFactory: (config: ConversationsConfig) => createObjectStore(objectStoreConfigOf(config)),
    },
    RateLimitRepository,
    RateLimitGuard,
  ],
  exports: [CONVERSATIONS_CONFIG, OBJECT_STORE, RateLimitRepository, RateLimitGuard],
})
export class CommonModule {}
