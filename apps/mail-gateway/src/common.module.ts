import { randomUUID } from 'node:crypto';
import { Global, Module } from '@nestjs/common';
import { createObjectStore, objectStoreConfigOf } from '@mailbridge/platform-object-store';
import { SERVICE_HOST, type ServiceHost } from '@mailbridge/platform-runtime';
import { MAIL_GATEWAY_CONFIG, loadMailGatewayConfig, type MailGatewayConfig } from './mail-gateway.config';
import { AccessTokenClient } from './provider-access/access-token.client';
import { MailboxAccess } from './provider-access/mailbox-access';
import { ProviderCallPolicy } from './provider-access/provider-call.policy';
import { providerClients } from './provider-access/provider-clients';
import { GatewayMetrics } from './common/gateway.metrics';
import { LeaseRepository } from './common/lease.repository';
import { OBJECT_STORE, REPLICA_ID } from './common/tokens';

/** Configuration, object store, metrics, leases and the provider edge, shared by every capability. */
@Global()
@Module({
  providers: [
    {
      provide: MAIL_GATEWAY_CONFIG,
      inject: [SERVICE_HOST],
      useFactory: (host: ServiceHost) => loadMailGatewayConfig(host.env),
    },
    {
      provide: OBJECT_STORE,
      inject: [MAIL_GATEWAY_CONFIG],
      useFactory: (c: MailGatewayConfig) => createObjectStore(objectStoreConfigOf(c)),
    },
    { provide: REPLICA_ID, useFactory: () => randomUUID() },
    GatewayMetrics,
    LeaseRepository,
    AccessTokenClient,
    MailboxAccess,
    ProviderCallPolicy,
    ...providerClients,
  ],
  exports: [
    MAIL_GATEWAY_CONFIG,
    OBJECT_STORE,
    REPLICA_ID,
    GatewayMetrics,
    LeaseRepository,
    AccessTokenClient,
    MailboxAccess,
    ProviderCallPolicy,
    ...providerClients.map((p) => p.provide),
  ],
})
export class CommonModule {}
