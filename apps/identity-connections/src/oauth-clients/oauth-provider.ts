import type { ProviderName } from '@mailbridge/contracts';
import type { ProviderSecrets, VaultContents } from '../vault/vault-contents';

export interface AuthorizeRequest {
  readonly state: string;
  readonly codeChallenge: string;
  readonly redirectUri: string;
  readonly loginHint?: string;
}

export interface CodeExchange {
  readonly code: string;
  readonly codeVerifier: string;
  readonly redirectUri: string;
}

/** The mailbox a user consented to, as the provider (not the request) describes it. */
export interface ConsentedMailbox {
  readonly emailAddress: string;
  readonly providerAccountId: string;
  readonly grantedScopes: readonly string[];
  readonly contents: VaultContents;
  /** CON-7: when the refresh token dies whatever we do (Google "Testing" apps), if the provider limits it. */
  readonly refreshTokenExpiresAt?: Date | null;
}

/** One provider's OAuth: consent URL, code exchange, refresh, revocation. Errors are the ones in provider-errors. */
export interface OAuthProviderClient {
  readonly provider: ProviderName;
  /** False when no client id is configured: the provider is unavailable, not broken. */
  readonly configured: boolean;
  authorizeUrl(request: AuthorizeRequest): Promise<string>;
  exchangeCode(exchange: CodeExchange): Promise<ConsentedMailbox>;
  /** A new access token (and, for Microsoft, the rolled refresh token in the new cache). */
  refresh(secrets: ProviderSecrets, providerAccountId: string, force: boolean): Promise<VaultContents>;
  /** Revokes the grant at the provider; resolves when it is revoked or was already dead. */
  revoke(secrets: ProviderSecrets): Promise<void>;
}

/** Mailbox key shared by every connection of one provider account (SYN-4). */
export const mailboxKeyOf = (provider: ProviderName, address: string) =>
  `${provider}:${address.trim().toLowerCase()}`;

/** Where a provider sends the browser back. */
export const redirectUriFor = (publicUrl: string, provider: ProviderName) =>
  `${publicUrl.replace(/\/+$/, '')}/v1/oauth/${provider}/callback`;

export const PROVIDER_TIMEOUT_MS = 15_000;
