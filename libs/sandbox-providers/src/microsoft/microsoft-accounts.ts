// MicrosoftAccounts: the identity emulator's state (accounts, apps, consents, codes, tokens) shared with the Graph
// emulator; its records live in microsoft-identity.types.ts, the AADSTS wording in aad-errors.ts.
import { createHash, randomUUID } from 'node:crypto';
import type { Clock } from '../shared/clock';
import type { IdFactory } from '../shared/id-factory';
import { type SigningKey, signJwt } from '../shared/key-material';
import { AadError, aadErrors } from './aad-errors';
import {
  DEFAULT_APP_PERMISSIONS,
  GRAPH_APP_ID,
  type MicrosoftAccount,
  type MicrosoftApp,
  type MsAccessToken,
  type MsAuthCode,
  type MsRefreshRecord,
  NINETY_DAYS_MS,
  OIDC_SCOPES,
  shortScope,
} from './microsoft-identity.types';

export { AadError } from './aad-errors';
export {
  GRAPH_APP_ID,
  GRAPH_RESOURCE,
  type MicrosoftAccount,
  type MicrosoftApp,
  type MsAccessToken,
  shortScope,
} from './microsoft-identity.types';

/** Accounts, apps and tokens of the Microsoft identity platform emulator, shared with the Graph emulator. */
export class MicrosoftAccounts {
  private readonly accounts = new Map<string, MicrosoftAccount>();
  readonly apps = new Map<string, MicrosoftApp>();
  private readonly codes = new Map<string, MsAuthCode>();
  private readonly refreshTokens = new Map<string, MsRefreshRecord>();
  private readonly accessTokens = new Map<string, MsAccessToken>();
  private readonly consents = new Map<string, Set<string>>();
  readonly tenantId: string;
  accessTokenTtlSeconds = 3599;
  /**
   * The tenant does not let users consent to apps (Entra "user consent: do not allow", the default of many new
   * tenants): only an administrator's consent (`/{tenant}/adminconsent`) lets its users sign in to the app.
   */
  adminConsentRequired = false;
  private readonly adminConsented = new Set<string>();
  private readonly revokeListeners: ((account: MicrosoftAccount) => void)[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly ids: IdFactory,
    private readonly signingKey: SigningKey,
    private readonly issuerHost: () => string,
  ) {
    this.tenantId = ids.guid();
  }

  addApp(app: Omit<MicrosoftApp, 'permissions'> & { permissions?: string[] }): void {
    this.apps.set(app.clientId, { ...app, permissions: app.permissions ?? DEFAULT_APP_PERMISSIONS });
  }

  addAccount(upn: string, displayName?: string): MicrosoftAccount {
    const existing = this.account(upn);
    if (existing) return existing;
    const local = upn.split('@')[0];
    const name = displayName ?? local.replace(/[._-]+/g, ' ').replace(/\b\w/g, (c) => c.toUpperCase());
    const [givenName, ...rest] = name.split(' ');
    const account: MicrosoftAccount = {
      oid: this.ids.guid(),
      tid: this.tenantId,
      upn,
      displayName: name,
      givenName,
      surname: rest.join(' '),
    };
    this.accounts.set(upn.toLowerCase(), account);
    return account;
  }

  account(upn: string): MicrosoftAccount | undefined {
    return this.accounts.get(upn.toLowerCase());
  }

  accountByOid(oid: string): MicrosoftAccount | undefined {
    return [...this.accounts.values()].find((a) => a.oid === oid);
  }

  listAccounts(): MicrosoftAccount[] {
    return [...this.accounts.values()];
  }

  onRevoke(listener: (account: MicrosoftAccount) => void): void {
    this.revokeListeners.push(listener);
  }

  app(clientId: string | undefined): MicrosoftApp {
    const app = clientId ? this.apps.get(clientId) : undefined;
    if (!app) {
      throw aadErrors.appNotFound(clientId);
    }
    return app;
  }

  authenticateApp(clientId: string | undefined, secret: string | undefined): MicrosoftApp {
    const app = this.app(clientId);
    if (!secret) {
      throw aadErrors.missingClientSecret();
    }
    if (secret !== app.clientSecret) {
      throw aadErrors.invalidClientSecret();
    }
    return app;
  }

  /** Expands `.default` and drops the resource prefix; OIDC scopes stay as they are. */
  resolveScopes(app: MicrosoftApp, requested: string[]): string[] {
    const out: string[] = [];
    for (const s of requested) {
      const short = shortScope(s);
      if (short === '.default') out.push(...app.permissions);
      else out.push(short);
    }
    return [...new Set(out)];
  }

  /** True while the tenant requires an admin's consent and no admin has given it for this app. */
  needsAdminConsent(clientId: string): boolean {
    return this.adminConsentRequired && !this.adminConsented.has(clientId);
  }

  grantAdminConsent(clientId: string): void {
    this.adminConsented.add(clientId);
  }

  /** The administrator withdraws the tenant-wide consent (Enterprise applications → remove). */
  revokeAdminConsent(): void {
    this.adminConsented.clear();
  }

  /** AADSTS65001 as Entra words it when neither the user nor an administrator consented. */
  consentRequiredError(app: MicrosoftApp): AadError {
    return aadErrors.consentRequired(app.clientId, 'Mailbridge (sandbox)');
  }

  createCode(input: Omit<MsAuthCode, 'expiresAt' | 'used'>): string {
    const code = `1.A${this.ids.base64url(210)}`;
    this.codes.set(code, { ...input, expiresAt: this.clock.now() + 10 * 60_000, used: false });
    return code;
  }

  redeemCode(
    app: MicrosoftApp,
    code: string,
    redirectUri: string | undefined,
    verifier: string | undefined,
    clientInfo: boolean,
  ) {
    const record = this.codes.get(code);
    if (!record || record.clientId !== app.clientId) {
      throw aadErrors.malformedGrant();
    }
    if (record.used) {
      throw aadErrors.codeAlreadyRedeemed();
    }
    if (record.expiresAt < this.clock.now()) {
      throw aadErrors.codeExpired();
    }
    if (redirectUri !== record.redirectUri) {
      throw aadErrors.redirectUriMismatch(redirectUri);
    }
    if (record.codeChallenge) {
      const expected =
        record.codeChallengeMethod === 'S256'
          ? createHash('sha256')
              .update(verifier ?? '')
              .digest('base64url')
          : verifier;
      if (expected !== record.codeChallenge) {
        throw aadErrors.codeVerifierMismatch();
      }
    }
    record.used = true;
    if (this.needsAdminConsent(app.clientId)) throw this.consentRequiredError(app);
    const consent = this.consents.get(`${record.oid}|${app.clientId}`) ?? new Set<string>();
    this.resolveScopes(app, record.scopes).forEach((s) => consent.add(s));
    this.consents.set(`${record.oid}|${app.clientId}`, consent);
    return this.tokenResponse(app, record.oid, record.scopes, clientInfo, record.nonce);
  }

  refresh(app: MicrosoftApp, refreshToken: string, scopes: string[], clientInfo: boolean) {
    const record = this.refreshTokens.get(refreshToken);
    if (!record || record.clientId !== app.clientId) {
      throw aadErrors.malformedGrant();
    }
    if (record.revoked) {
      throw aadErrors.grantRevoked();
    }
    if (this.clock.now() - record.lastUsedAt > NINETY_DAYS_MS) {
      throw aadErrors.refreshTokenInactive();
    }
    const consent = this.consents.get(`${record.oid}|${app.clientId}`) ?? new Set<string>();
    const wanted = this.resolveScopes(app, scopes.length > 0 ? scopes : record.scopes).filter(
      (s) => !OIDC_SCOPES.includes(s),
    );
    const missing = wanted.filter((s) => !consent.has(s));
    if (missing.length > 0) {
      throw aadErrors.consentRequired(app.clientId, 'Sandbox');
    }
    record.lastUsedAt = this.clock.now();
    return this.tokenResponse(app, record.oid, scopes.length > 0 ? scopes : record.scopes, clientInfo);
  }

  private tokenResponse(
    app: MicrosoftApp,
    oid: string,
    requested: string[],
    clientInfo: boolean,
    nonce?: string,
  ) {
    const account = this.accountByOid(oid);
    if (!account) throw aadErrors.userNotInDirectory();
    const resolved = this.resolveScopes(app, requested);
    const resourceScopes = resolved.filter((s) => !OIDC_SCOPES.includes(s));
    const echoed = [...resourceScopes, ...resolved.filter((s) => ['openid', 'profile', 'email'].includes(s))];
    const now = this.clock.now();
    const iat = Math.floor(now / 1000);
    const expiresIn = this.accessTokenTtlSeconds;
    const accessToken = signJwt(
      this.signingKey,
      {
        aud: GRAPH_APP_ID,
        iss: `https://sts.windows.net/${account.tid}/`,
        iat,
        nbf: iat,
        exp: iat + expiresIn,
        app_displayname: 'Mailbridge (sandbox)',
        appid: app.clientId,
        idtyp: 'user',
        name: account.displayName,
        oid: account.oid,
        scp: resourceScopes.join(' '),
        sub: this.ids.base64url(32),
        tid: account.tid,
        unique_name: account.upn,
        upn: account.upn,
        uti: this.ids.base64url(16),
        ver: '1.0',
      },
      { nonce: this.ids.base64url(32) },
    );
    this.accessTokens.set(accessToken, {
      token: accessToken,
      oid,
      clientId: app.clientId,
      scopes: resourceScopes,
      expiresAt: now + expiresIn * 1000,
    });
    const response: Record<string, unknown> = {
      token_type: 'Bearer',
      scope: echoed.join(' '),
      expires_in: expiresIn,
      ext_expires_in: expiresIn,
      access_token: accessToken,
    };
    if (resolved.includes('offline_access') || requested.includes('offline_access')) {
      const rt = `1.A${this.ids.base64url(600)}`;
      this.refreshTokens.set(rt, {
        oid,
        clientId: app.clientId,
        scopes: requested,
        lastUsedAt: now,
        revoked: false,
      });
      response.refresh_token = rt;
    }
    if (requested.includes('openid'))
      response.id_token = this.idToken(app, account, nonce, requested.includes('email'));
    if (clientInfo) {
      response.client_info = Buffer.from(JSON.stringify({ uid: account.oid, utid: account.tid })).toString(
        'base64url',
      );
    }
    return response;
  }

  private idToken(
    app: MicrosoftApp,
    account: MicrosoftAccount,
    nonce: string | undefined,
    email: boolean,
  ): string {
    const iat = Math.floor(Date.now() / 1000);
    return signJwt(this.signingKey, {
      aud: app.clientId,
      iss: `${this.issuerHost()}/${account.tid}/v2.0`,
      iat,
      nbf: iat,
      exp: iat + 3600,
      name: account.displayName,
      ...(nonce ? { nonce } : {}),
      oid: account.oid,
      preferred_username: account.upn,
      ...(email ? { email: account.upn } : {}),
      rh: `0.A${this.ids.base64url(40)}.`,
      sub: createHash('sha256').update(`${account.oid}|${app.clientId}`).digest('base64url').slice(0, 43),
      tid: account.tid,
      uti: this.ids.base64url(16),
      ver: '2.0',
    });
  }

  /** `revokeSignInSessions`, an admin revoke or a password reset: every refresh token of the user dies. */
  revokeSessions(upn: string): number {
    const account = this.account(upn);
    if (!account) return 0;
    let n = 0;
    for (const r of this.refreshTokens.values()) {
      if (r.oid === account.oid && !r.revoked) {
        r.revoked = true;
        n++;
      }
    }
    for (const l of this.revokeListeners) l(account);
    return n;
  }

  /** Ages every refresh token of the user past the 90-day inactivity limit. */
  expireRefreshTokens(upn: string): number {
    const account = this.account(upn);
    let n = 0;
    for (const r of this.refreshTokens.values()) {
      if (account && r.oid === account.oid) {
        r.lastUsedAt = this.clock.now() - NINETY_DAYS_MS - 1;
        n++;
      }
    }
    return n;
  }

  expireAccessTokens(upn: string): number {
    const account = this.account(upn);
    let n = 0;
    for (const a of this.accessTokens.values()) {
      if (account && a.oid === account.oid && a.expiresAt > this.clock.now()) {
        a.expiresAt = this.clock.now() - 1;
        n++;
      }
    }
    return n;
  }

  issueTokens(upn: string, clientId: string, scopes: string[]) {
    const account = this.account(upn);
    if (!account) throw new Error(`no Microsoft sandbox account ${upn}`);
    const app = this.app(clientId);
    const requested = [...new Set([...scopes, 'openid', 'profile', 'offline_access'])];
    const consent = this.consents.get(`${account.oid}|${clientId}`) ?? new Set<string>();
    this.resolveScopes(app, requested).forEach((s) => consent.add(s));
    this.consents.set(`${account.oid}|${clientId}`, consent);
    return this.tokenResponse(app, account.oid, requested, true);
  }

  authenticate(token: string | undefined): MsAccessToken | 'invalid' | 'expired' {
    const record = token ? this.accessTokens.get(token) : undefined;
    if (!record) return 'invalid';
    if (record.expiresAt <= this.clock.now()) return 'expired';
    return record;
  }

  static traceIds(): { trace: string; correlation: string } {
    return { trace: randomUUID(), correlation: randomUUID() };
  }
}
