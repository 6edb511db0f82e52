import type { ProviderName } from '@mailbridge/contracts';

/** What only the vault ever sees in clear: the long-lived grant of a connection. */
export type ProviderSecrets =
  | { readonly provider: 'google'; readonly refreshToken: string }
  /** MSAL keeps the refresh token to itself: its serialized cache is what we persist (via its cache plugin). */
  | { readonly provider: 'microsoft'; readonly msalCache: string };

export interface AccessGrant {
  readonly accessToken: string;
  readonly expiresAt: Date;
}

export interface VaultContents {
  readonly secrets: ProviderSecrets;
  readonly access: AccessGrant;
}

export const providerOf = (s: ProviderSecrets): ProviderName => s.provider;

/** Authenticated context of a connection's ciphertext: it only decrypts on that connection's rows. */
export const connectionContext = (connectionId: string) => `connection:${connectionId}`;
export const oauthStateContext = (stateId: string) => `oauth-state:${stateId}`;

export function serializeContents(c: VaultContents): string {
  return JSON.stringify({
    secrets: c.secrets,
    access: { accessToken: c.access.accessToken, expiresAt: c.access.expiresAt.toISOString() },
  });
}

export function deserializeContents(json: string): VaultContents {
  const raw = JSON.parse(json) as {
    secrets: ProviderSecrets;
    access: { accessToken: string; expiresAt: string };
  };
  return {
    secrets: raw.secrets,
    access: { accessToken: raw.access.accessToken, expiresAt: new Date(raw.access.expiresAt) },
  };
}
