import { Global, Module } from '@nestjs/common';
import { loadConfig } from '@mailbridge/platform-config';
import { SERVICE_HOST, type ServiceHost } from '@mailbridge/platform-runtime';
import { IDENTITY_CONFIG, identityConnectionsConfigSchema } from './identity-connections.config';

/** The validated settings, read once from the host's environment (a bad value stops the start, naming it). */
@Global()
@Module({
  providers: [
    {
      provide: IDENTITY_CONFIG,
      inject: [SERVICE_HOST],
      useFactory: (host: ServiceHost) => loadConfig(identityConnectionsConfigSchema, host.env),
    },
  ],
  exports: [IDENTITY_CONFIG],
})
export class IdentityConfigModule {}
