import { Global, Module } from '@nestjs/common';
import { SERVICE_HOST, type ServiceHost } from '@mailbridge/platform-runtime';
import { SYNC_ENGINE_CONFIG, loadSyncEngineConfig } from '../sync-engine.config';

/** The validated settings, read once from the host's environment. */
@Global()
@Module({
  providers: [
    {
      provide: SYNC_ENGINE_CONFIG,
      inject: [SERVICE_HOST],
      useFactory: (host: ServiceHost) => loadSyncEngineConfig(host.env),
    },
  ],
  exports: [SYNC_ENGINE_CONFIG],
})
export class SyncEngineConfigModule {}
