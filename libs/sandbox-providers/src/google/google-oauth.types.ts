// The Google OAuth emulator's records (clients, accounts, grants, codes, refresh and access tokens), its token
// response and error shapes, Gmail scope names and token lifetimes; no state here.

export const GMAIL_SCOPE_PREFIX = 'https://www.googleapis.com/auth/gmail.';
export const FULL_MAIL_SCOPE = 'https://mail.google.com/';

export interface GoogleOAuthClient {
  clientId: string;
  clientSecret: string;
  /** Registered redirect URIs; empty accepts any (handy for sandboxes whose port is not known up front). */
  redirectUris: string[];
  /** Consent screen "External + Testing": refresh tokens with Gmail scopes die after 7 days. */
  testingMode: boolean;
}

export interface GoogleAccount {
  sub: string;
  email: string;
  name: string;
  givenName: string;
  familyName: string;
  picture: string;
  passwordVersion: number;
}

export interface Grant {
  id: string;
  sub: string;
  clientId: string;
  scopes: Set<string>;
  revoked: boolean;
  passwordVersion: number;
}

export interface RefreshTokenRecord {
  token: string;
  grantId: string;
  scopes: string[];
  createdAt: number;
  lastUsedAt: number;
  dead?: string;
}

export interface AccessTokenRecord {
  token: string;
  grantId: string;
  sub: string;
  clientId: string;
  scopes: string[];
  expiresAt: number;
  revoked: boolean;
}

export interface AuthCode {
  code: string;
  clientId: string;
  redirectUri: string;
  scopes: string[];
  sub: string;
  offline: boolean;
  forceConsent: boolean;
  codeChallenge?: string;
  codeChallengeMethod?: string;
  nonce?: string;
  expiresAt: number;
  used: boolean;
}

export interface GoogleTokenResponse {
  access_token: string;
  expires_in: number;
  refresh_token?: string;
  scope: string;
  token_type: 'Bearer';
  id_token?: string;
  /**
   * Seconds the refresh token has left, when its lifetime is limited (a "Testing" consent screen: 7 days). Google
   * documents the field for time-based access; apps in Testing mode see it too [community], so the emulator sends it.
   */
  refresh_token_expires_in?: number;
}

export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(`${error}: ${description}`);
  }
}

const SCOPE_ALIASES: Record<string, string> = {
  email: 'https://www.googleapis.com/auth/userinfo.email',
  profile: 'https://www.googleapis.com/auth/userinfo.profile',
};

/** Google expands `email`/`profile` to their URL forms in token responses; `openid` stays short. */
export function expandGoogleScopes(scopes: string[]): string[] {
  return [...new Set(scopes.map((s) => SCOPE_ALIASES[s] ?? s))];
}

export const SIX_MONTHS_MS = 183 * 86_400_000;
export const SEVEN_DAYS_MS = 7 * 86_400_000;
export const REFRESH_TOKENS_PER_CLIENT = 100;
