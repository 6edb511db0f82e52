import type { ConnectionSnapshot, ProviderName, SyncScope } from '@mailbridge/contracts';
import type { ConnectionEntity } from './connection.entity';

/** SYN-3 defaults: Gmail users get their contacts' mail, Outlook users only CRM-started threads. */
export const DEFAULT_SYNC_SCOPE: Record<ProviderName, SyncScope> = {
  google: 'contact_mail',
  microsoft: 'crm_threads',
};

/** The connection as events carry it: ids, mailbox, policy. Never a token (CON-1). */
export function toSnapshot(c: ConnectionEntity): ConnectionSnapshot {
  return {
    connectionId: c.connectionId,
    locationId: c.locationId,
    userId: c.userId,
    provider: c.provider,
    emailAddress: c.emailAddress,
    mailboxKey: c.mailboxKey,
    syncScope: c.syncScope,
    status: c.status,
    connectedAt: c.connectedAt.toISOString(),
  };
}
