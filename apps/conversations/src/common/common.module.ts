import { Global, Module } from '@nestjs/common';
import { loadConfig } from '@mailbridge/platform-config';
import { createObjectStore, objectStoreConfigOf } from '@mailbridge/platform-object-store';
import { SERVICE_HOST, type ServiceHost } from '@mailbridge/platform-runtime';
import { ConversationsConfig, conversationsConfigSchema } from '../conversations.config';
import { RateLimitGuard } from './rate-limit.guard';
import { RateLimiter } from './rate-limiter';
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
    {
      provide: RateLimiter,
      inject: [CONVERSATIONS_CONFIG],
      useFactory: (config: ConversationsConfig) => new RateLimiter(config.RATE_LIMIT_PER_MINUTE),
    },
    RateLimitGuard,
  ],
  exports: [CONVERSATIONS_CONFIG, OBJECT_STORE, RateLimiter, RateLimitGuard],
})
export class CommonModule {}
