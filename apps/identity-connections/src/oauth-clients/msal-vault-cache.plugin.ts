import type { ICachePlugin, TokenCacheContext } from '@azure/msal-node';

/**
 * MSAL's cache plugin bridged to the vault: MSAL reads the connection's (decrypted) cache before each access and
 * hands back the changed cache after it. One plugin per operation and connection, so two mailboxes never share an
 * in-memory cache; the caller seals `snapshot` into the vault when `changed`.
 */
export class MsalVaultCachePlugin implements ICachePlugin {
  changed = false;

  constructor(private current: string | undefined) {}

  get snapshot(): string | undefined {
    return this.current;
  }

  async beforeCacheAccess(context: TokenCacheContext): Promise<void> {
    if (this.current) context.tokenCache.deserialize(this.current);
  }

  async afterCacheAccess(context: TokenCacheContext): Promise<void> {
    if (context.cacheHasChanged) {
      this.current = context.tokenCache.serialize();
      this.changed = true;
    }
  }
}
