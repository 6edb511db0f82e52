// The identity emulator's records (apps, accounts, codes, refresh and access tokens), Graph's resource ids and
// scope helpers; no state here.

export const GRAPH_RESOURCE = 'https://graph.microsoft.com/';
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'];
export const DEFAULT_APP_PERMISSIONS = ['Mail.ReadWrite', 'Mail.Send', 'User.Read'];

export interface MicrosoftApp {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  /** Delegated Graph permissions configured on the app (what `.default` expands to). */
  permissions: string[];
}

export interface MicrosoftAccount {
  oid: string;
  tid: string;
  upn: string;
  displayName: string;
  givenName: string;
  surname: string;
}

/** An authorization code until it is redeemed (once) or expires. */
export interface MsAuthCode {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  oid: string;
  nonce?: string;
  codeChallenge?: string;
  codeChallengeMethod?: string;
  expiresAt: number;
  used: boolean;
}

export interface MsRefreshRecord {
  oid: string;
  clientId: string;
  scopes: string[];
  lastUsedAt: number;
  revoked: boolean;
}

export interface MsAccessToken {
  token: string;
  oid: string;
  clientId: string;
  scopes: string[];
  expiresAt: number;
}

export const NINETY_DAYS_MS = 90 * 86_400_000;

/** Graph scopes in the short form Entra echoes (`Mail.Send`), which MSAL needs for cache hits. */
export function shortScope(scope: string): string {
  return scope.startsWith(GRAPH_RESOURCE) ? scope.slice(GRAPH_RESOURCE.length) : scope;
}
