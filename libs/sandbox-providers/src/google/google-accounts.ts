// GoogleAccounts: the Google OAuth emulator's state (accounts, grants, codes, tokens) shared with the Gmail emulator;
// its records and token shapes live in google-oauth.types.ts.
import { createHash } from 'node:crypto';
import type { Clock } from '../shared/clock';
import type { IdFactory } from '../shared/id-factory';
import { type SigningKey, signJwt } from '../shared/key-material';
import {
  type AccessTokenRecord,
  type AuthCode,
  expandGoogleScopes,
  FULL_MAIL_SCOPE,
  GMAIL_SCOPE_PREFIX,
  type GoogleAccount,
  type GoogleOAuthClient,
  type GoogleTokenResponse,
  type Grant,
  OAuthError,
  REFRESH_TOKENS_PER_CLIENT,
  type RefreshTokenRecord,
  SEVEN_DAYS_MS,
  SIX_MONTHS_MS,
} from './google-oauth.types';

export {
  type AccessTokenRecord,
  expandGoogleScopes,
  FULL_MAIL_SCOPE,
  GMAIL_SCOPE_PREFIX,
  type GoogleAccount,
  type GoogleOAuthClient,
  type GoogleTokenResponse,
  OAuthError,
} from './google-oauth.types';

/**
 * Accounts, grants and tokens of the Google OAuth emulator. The Gmail emulator authenticates bearer tokens here,
 * so revoking, expiring or a password change is seen by both at once.
 */
export class GoogleAccounts {
  private readonly accounts = new Map<string, GoogleAccount>();
  private readonly grants = new Map<string, Grant>();
  private readonly refreshTokens = new Map<string, RefreshTokenRecord>();
  private readonly accessTokens = new Map<string, AccessTokenRecord>();
  private readonly codes = new Map<string, AuthCode>();
  readonly clients = new Map<string, GoogleOAuthClient>();
  accessTokenTtlSeconds = 3599;

  constructor(
    private readonly clock: Clock,
    private readonly ids: IdFactory,
    private readonly signingKey: SigningKey,
  ) {}

  addClient(client: GoogleOAuthClient): void {
    this.clients.set(client.clientId, client);
  }

  addAccount(email: string, displayName?: string): GoogleAccount {
    const key = email.toLowerCase();
    const existing = this.accounts.get(key);
    if (existing) return existing;
    const local = email.split('@')[0];
    const name = displayName ?? local.replace(/[._-]+/g, ' ').replace(/\b\w/g, (c) => c.toUpperCase());
    const [givenName, ...rest] = name.split(' ');
    const account: GoogleAccount = {
      sub: this.ids.digits(21),
      email,
      name,
      givenName,
      familyName: rest.join(' '),
      picture: `https://lh3.googleusercontent.com/a/sandbox-${this.ids.alphanumeric(12)}=s96-c`,
      passwordVersion: 0,
    };
    this.accounts.set(key, account);
    return account;
  }

  account(email: string): GoogleAccount | undefined {
    return this.accounts.get(email.toLowerCase());
  }

  accountBySub(sub: string): GoogleAccount | undefined {
    // Asked on every API call: an index, filled on first use (accounts are only ever added, `sub` never changes).
    const hit = this.subIndex.get(sub);
    if (hit) return hit;
    const found = [...this.accounts.values()].find((a) => a.sub === sub);
    if (found) this.subIndex.set(sub, found);
    return found;
  }
  private readonly subIndex = new Map<string, GoogleAccount>();

  listAccounts(): GoogleAccount[] {
    return [...this.accounts.values()];
  }

  authenticateClient(clientId: string | undefined, secret: string | undefined): GoogleOAuthClient {
    const client = clientId ? this.clients.get(clientId) : undefined;
    if (!client || (secret !== undefined && client.clientSecret !== secret)) {
      throw new OAuthError(401, 'invalid_client', 'Unauthorized');
    }
    if (secret === undefined) throw new OAuthError(400, 'invalid_request', 'client_secret is missing.');
    return client;
  }

  createCode(input: Omit<AuthCode, 'code' | 'expiresAt' | 'used'>): string {
    const code = `4/0A${this.ids.base64url(60)}`;
    this.codes.set(code, { ...input, code, expiresAt: this.clock.now() + 10 * 60_000, used: false });
    return code;
  }

  redeemCode(
    client: GoogleOAuthClient,
    code: string,
    redirectUri: string | undefined,
    codeVerifier: string | undefined,
  ): GoogleTokenResponse {
    const record = this.codes.get(code);
    if (
      !record ||
      record.used ||
      record.expiresAt < this.clock.now() ||
      record.clientId !== client.clientId
    ) {
      throw new OAuthError(400, 'invalid_grant', 'Bad Request');
    }
    if (redirectUri !== record.redirectUri) throw new OAuthError(400, 'redirect_uri_mismatch', 'Bad Request');
    if (record.codeChallenge) {
      const expected =
        record.codeChallengeMethod === 'S256'
          ? createHash('sha256')
              .update(codeVerifier ?? '')
              .digest('base64url')
          : codeVerifier;
      if (expected !== record.codeChallenge)
        throw new OAuthError(400, 'invalid_grant', 'Invalid code verifier.');
    }
    record.used = true;
    const { grant, firstConsent } = this.grantFor(record.sub, client.clientId, record.scopes);
    const issueRefresh = record.offline && (firstConsent || record.forceConsent);
    return this.tokenResponse(grant, record.scopes, issueRefresh, record.nonce);
  }

  refresh(client: GoogleOAuthClient, refreshToken: string): GoogleTokenResponse {
    const record = this.refreshTokens.get(refreshToken);
    const grant = record ? this.grants.get(record.grantId) : undefined;
    if (!record || !grant || grant.clientId !== client.clientId) {
      throw new OAuthError(400, 'invalid_grant', 'Bad Request');
    }
    const reason = this.deadReason(record, grant, client);
    if (reason) {
      record.dead = reason;
      throw new OAuthError(400, 'invalid_grant', 'Token has been expired or revoked.');
    }
    record.lastUsedAt = this.clock.now();
    const response = this.tokenResponse(grant, record.scopes, false);
    const left = this.testingModeLeftSeconds(client, record);
    return left === undefined ? response : { ...response, refresh_token_expires_in: left };
  }

  /** Testing-mode refresh tokens with Gmail scopes live 7 days from issue (§C.6); undefined when not limited. */
  private testingModeLeftSeconds(client: GoogleOAuthClient | undefined, record: RefreshTokenRecord) {
    const gmail = record.scopes.some((s) => s.startsWith(GMAIL_SCOPE_PREFIX) || s === FULL_MAIL_SCOPE);
    if (!client?.testingMode || !gmail) return undefined;
    return Math.max(0, Math.floor((record.createdAt + SEVEN_DAYS_MS - this.clock.now()) / 1000) - 1);
  }

  private deadReason(
    record: RefreshTokenRecord,
    grant: Grant,
    client: GoogleOAuthClient,
  ): string | undefined {
    if (record.dead) return record.dead;
    if (grant.revoked) return 'revoked';
    const account = this.accountBySub(grant.sub);
    const gmail = record.scopes.some((s) => s.startsWith(GMAIL_SCOPE_PREFIX) || s === FULL_MAIL_SCOPE);
    if (account && gmail && account.passwordVersion !== grant.passwordVersion) return 'password-changed';
    const now = this.clock.now();
    if (now - record.lastUsedAt > SIX_MONTHS_MS) return 'unused-six-months';
    if (client.testingMode && gmail && now - record.createdAt > SEVEN_DAYS_MS) return 'testing-mode-expired';
    return undefined;
  }

  private grantFor(sub: string, clientId: string, scopes: string[]): { grant: Grant; firstConsent: boolean } {
    const existing = [...this.grants.values()].find(
      (g) => g.sub === sub && g.clientId === clientId && !g.revoked,
    );
    if (existing) {
      scopes.forEach((s) => existing.scopes.add(s));
      return { grant: existing, firstConsent: false };
    }
    const account = this.accountBySub(sub);
    const grant: Grant = {
      id: this.ids.hex(16),
      sub,
      clientId,
      scopes: new Set(scopes),
      revoked: false,
      passwordVersion: account?.passwordVersion ?? 0,
    };
    this.grants.set(grant.id, grant);
    return { grant, firstConsent: true };
  }

  private tokenResponse(
    grant: Grant,
    scopes: string[],
    withRefresh: boolean,
    nonce?: string,
  ): GoogleTokenResponse {
    const now = this.clock.now();
    const granted = expandGoogleScopes(scopes);
    const access: AccessTokenRecord = {
      token: `ya29.a0${this.ids.base64url(120)}`,
      grantId: grant.id,
      sub: grant.sub,
      clientId: grant.clientId,
      scopes: granted,
      expiresAt: now + this.accessTokenTtlSeconds * 1000,
      revoked: false,
    };
    this.accessTokens.set(access.token, access);
    const response: GoogleTokenResponse = {
      access_token: access.token,
      expires_in: this.accessTokenTtlSeconds,
      scope: granted.join(' '),
      token_type: 'Bearer',
    };
    if (withRefresh) {
      const token = `1//0${this.ids.base64url(75)}`;
      const record = { token, grantId: grant.id, scopes, createdAt: now, lastUsedAt: now };
      this.refreshTokens.set(token, record);
      this.capRefreshTokens(grant);
      response.refresh_token = token;
      const left = this.testingModeLeftSeconds(this.clients.get(grant.clientId), record);
      if (left !== undefined) response.refresh_token_expires_in = left;
    }
    if (scopes.includes('openid')) response.id_token = this.idToken(grant, access.token, nonce);
    return response;
  }

  /** The 101st refresh token for one account and client silently invalidates the oldest. */
  private capRefreshTokens(grant: Grant): void {
    const live = [...this.refreshTokens.values()]
      .filter(
        (r) =>
          !r.dead &&
          this.grants.get(r.grantId)?.sub === grant.sub &&
          this.grants.get(r.grantId)?.clientId === grant.clientId,
      )
      .sort((a, b) => a.createdAt - b.createdAt);
    while (live.length > REFRESH_TOKENS_PER_CLIENT) {
      const oldest = live.shift();
      if (oldest) oldest.dead = 'token-limit';
    }
  }

  idToken(grant: Grant, accessToken: string, nonce?: string): string {
    const account = this.accountBySub(grant.sub);
    // Signed tokens use the wall clock: the verifying libraries (verifyIdToken) check against it.
    const iat = Math.floor(Date.now() / 1000);
    const atHash = createHash('sha256').update(accessToken).digest().subarray(0, 16).toString('base64url');
    return signJwt(this.signingKey, {
      iss: 'https://accounts.google.com',
      azp: grant.clientId,
      aud: grant.clientId,
      sub: grant.sub,
      email: account?.email,
      email_verified: true,
      at_hash: atHash,
      ...(nonce ? { nonce } : {}),
      name: account?.name,
      picture: account?.picture,
      given_name: account?.givenName,
      family_name: account?.familyName,
      iat,
      exp: iat + 3600,
    });
  }

  /** Revokes the grant behind an access or refresh token: all tokens of that account and client die. */
  revokeToken(token: string): boolean {
    const grantId = this.accessTokens.get(token)?.grantId ?? this.refreshTokens.get(token)?.grantId;
    const grant = grantId ? this.grants.get(grantId) : undefined;
    if (!grant || grant.revoked) return false;
    this.revokeGrant(grant);
    return true;
  }

  private revokeGrant(grant: Grant): void {
    grant.revoked = true;
    for (const a of this.accessTokens.values()) if (a.grantId === grant.id) a.revoked = true;
    for (const r of this.refreshTokens.values()) if (r.grantId === grant.id) r.dead ??= 'revoked';
  }

  /** The user removes the app in their Google Account: every grant of every client dies. */
  revokeAll(email: string): number {
    const account = this.account(email);
    if (!account) return 0;
    const grants = [...this.grants.values()].filter((g) => g.sub === account.sub && !g.revoked);
    grants.forEach((g) => this.revokeGrant(g));
    return grants.length;
  }

  /** Refresh tokens carrying Gmail scopes stop working; access tokens live until they expire, as at Google. */
  changePassword(email: string): void {
    const account = this.account(email);
    if (account) account.passwordVersion++;
  }

  /** Marks every current access token of the account as expired (the next API call gets 401). */
  expireAccessTokens(email: string): number {
    const account = this.account(email);
    let n = 0;
    for (const a of this.accessTokens.values()) {
      if (account && a.sub === account.sub && a.expiresAt > this.clock.now()) {
        a.expiresAt = this.clock.now() - 1;
        n++;
      }
    }
    return n;
  }

  /** Kills live refresh tokens as inactivity or Testing mode would. */
  expireRefreshTokens(email: string): number {
    const account = this.account(email);
    let n = 0;
    for (const r of this.refreshTokens.values()) {
      if (!r.dead && account && this.grants.get(r.grantId)?.sub === account.sub) {
        r.dead = 'expired';
        n++;
      }
    }
    return n;
  }

  /** Mints tokens without the browser dance, as if the user had consented (for tests and seed data). */
  issueTokens(
    email: string,
    clientId: string,
    scopes: string[],
  ): GoogleTokenResponse & { expiry_date: number } {
    const account = this.account(email);
    if (!account) throw new Error(`no Google sandbox account ${email}`);
    const { grant } = this.grantFor(account.sub, clientId, scopes);
    const response = this.tokenResponse(grant, scopes, true);
    return { ...response, expiry_date: this.clock.now() + response.expires_in * 1000 };
  }

  /** Returns the token record, or why it is not usable. */
  authenticate(token: string | undefined): AccessTokenRecord | 'invalid' | 'expired' {
    const record = token ? this.accessTokens.get(token) : undefined;
    if (!record || record.revoked) return 'invalid';
    if (record.expiresAt <= this.clock.now()) return 'expired';
    return record;
  }

  tokenInfo(token: string): Record<string, unknown> | undefined {
    const record = this.accessTokens.get(token);
    if (!record || record.revoked || record.expiresAt <= this.clock.now()) return undefined;
    const account = this.accountBySub(record.sub);
    const expiresIn = Math.floor((record.expiresAt - this.clock.now()) / 1000);
    return {
      azp: record.clientId,
      aud: record.clientId,
      sub: record.sub,
      scope: record.scopes.join(' '),
      exp: String(Math.floor(record.expiresAt / 1000)),
      expires_in: String(expiresIn),
      email: account?.email,
      email_verified: 'true',
      access_type: 'offline',
    };
  }
}
