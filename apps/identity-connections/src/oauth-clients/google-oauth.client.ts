import { Inject, Injectable } from '@nestjs/common';
import { CodeChallengeMethod, OAuth2Client } from 'google-auth-library';
import { IDENTITY_CONFIG, type IdentityConnectionsConfig } from '../identity-connections.config';
import type { ProviderSecrets, VaultContents } from '../vault/vault-contents';
import {
  AuthorizeRequest,
  CodeExchange,
  ConsentedMailbox,
  OAuthProviderClient,
  PROVIDER_TIMEOUT_MS,
} from './oauth-provider';
import {
  InsufficientScopeError,
  ProviderRequestError,
  ReauthRequiredError,
  isTransientStatus,
  safeCode,
} from './provider-errors';
import { storableText } from '@mailbridge/contracts';

const GMAIL_MODIFY = 'https://www.googleapis.com/auth/gmail.modify';
const GMAIL_FULL = 'https://mail.google.com/';
const USERINFO_EMAIL = 'https://www.googleapis.com/auth/userinfo.email';
/** Lifetime of refresh tokens of a Google OAuth app in "Testing" publishing status. */
const TESTING_MODE_MS = 7 * 86_400_000;
/** CON-1: only what sync needs. gmail.modify covers read, send and label changes (watch/history included). */
export const GOOGLE_SCOPES = ['openid', 'email', GMAIL_MODIFY];

/** The parts of a gaxios error we may look at (never its config: it holds the request form with the tokens). */
function describe(error: unknown): { status?: number; code: string } {
  const e = error as { response?: { status?: number; data?: { error?: unknown } }; code?: unknown };
  const status = e?.response?.status;
  const data = e?.response?.data;
  const code =
    typeof data?.error === 'string'
      ? data.error
      : typeof e?.code === 'string'
        ? e.code
        : status
          ? `http_${status}`
          : 'network_error';
  return { status, code: safeCode(code) };
}

/** Google OAuth 2.0 through google-auth-library, every endpoint from configuration (the real ones or the sandbox). */
@Injectable()
export class GoogleOAuthClient implements OAuthProviderClient {
  readonly provider = 'google' as const;

  constructor(@Inject(IDENTITY_CONFIG) private readonly config: IdentityConnectionsConfig) {}

  get configured(): boolean {
    return Boolean(this.config.GOOGLE_CLIENT_ID && this.config.GOOGLE_CLIENT_SECRET);
  }

  private client(redirectUri?: string): OAuth2Client {
    const c = this.config;
    return new OAuth2Client({
      clientId: c.GOOGLE_CLIENT_ID,
      clientSecret: c.GOOGLE_CLIENT_SECRET,
      redirectUri,
      endpoints: {
        oauth2AuthBaseUrl: c.GOOGLE_OAUTH_AUTHORIZE_URL,
        oauth2TokenUrl: c.GOOGLE_OAUTH_TOKEN_URL,
        oauth2RevokeUrl: c.GOOGLE_OAUTH_REVOKE_URL,
        oauth2FederatedSignonPemCertsUrl: c.GOOGLE_OAUTH_CERTS_URL,
      },
      // Node's fetch instead of gaxios' dynamic import of node-fetch (which jest's CommonJS runtime cannot load).
      transporterOptions: { fetchImplementation: fetch, timeout: PROVIDER_TIMEOUT_MS },
    });
  }

  async authorizeUrl(request: AuthorizeRequest): Promise<string> {
    return this.client(request.redirectUri).generateAuthUrl({
      access_type: 'offline',
      // A fresh refresh token on every consent (Google issues one only at first consent otherwise).
      prompt: 'consent',
      scope: GOOGLE_SCOPES,
      state: request.state,
      code_challenge: request.codeChallenge,
      code_challenge_method: CodeChallengeMethod.S256,
      ...(request.loginHint ? { login_hint: request.loginHint } : {}),
    });
  }

  async exchangeCode(exchange: CodeExchange): Promise<ConsentedMailbox> {
    const client = this.client(exchange.redirectUri);
    let tokens;
    try {
      ({ tokens } = await client.getToken({
        code: exchange.code,
        codeVerifier: exchange.codeVerifier,
        redirect_uri: exchange.redirectUri,
      }));
    } catch (error) {
      const { status, code } = describe(error);
      throw new ProviderRequestError(code, isTransientStatus(status), status);
    }
    if (!tokens.access_token) throw new ProviderRequestError('no_access_token', false);
    if (!tokens.refresh_token) throw new ProviderRequestError('no_refresh_token', false);
    // Granular consent: the user may have unticked Gmail access.
    const granted = (tokens.scope ?? '').split(/\s+/).filter(Boolean);
    const missing = [
      ...(granted.includes(GMAIL_MODIFY) || granted.includes(GMAIL_FULL) ? [] : [GMAIL_MODIFY]),
      ...(granted.includes(USERINFO_EMAIL) || granted.includes('email') ? [] : [USERINFO_EMAIL]),
    ];
    if (missing.length > 0) throw new InsufficientScopeError(missing);
    const profile = await this.userinfo(tokens.access_token);
    const refreshTokenExpiresAt = this.refreshTokenEnd(tokens as { refresh_token_expires_in?: unknown });
    return {
      // The provider's profile is outside text like any other: made storable before it reaches an insert.
      emailAddress: storableText(profile.email),
      providerAccountId: storableText(profile.sub),
      grantedScopes: granted,
      refreshTokenExpiresAt,
      contents: {
        secrets: { provider: 'google', refreshToken: tokens.refresh_token },
        access: {
          accessToken: tokens.access_token,
          expiresAt: new Date(tokens.expiry_date ?? Date.now() + 3_600_000),
        },
      },
    };
  }

  /**
   * CON-7: a refresh token with a known end. Google's own `refresh_token_expires_in` when it sends one; otherwise a
   * "Testing" consent screen (configured) means 7 days for grants with Gmail scopes (Google OAuth docs, §C.6).
   */
  private refreshTokenEnd(tokens: { refresh_token_expires_in?: unknown }): Date | null {
    const seconds = Number(tokens.refresh_token_expires_in);
    if (Number.isFinite(seconds) && seconds > 0) return new Date(Date.now() + seconds * 1000);
    if (this.config.GOOGLE_OAUTH_PUBLISHING_STATUS === 'testing')
      return new Date(Date.now() + TESTING_MODE_MS);
    return null;
  }

  /** The mailbox address comes from Google's OpenID userinfo for the new token, never from the request. */
  private async userinfo(accessToken: string): Promise<{ sub: string; email: string }> {
    let res: Response;
    try {
      res = await fetch(this.config.GOOGLE_USERINFO_URL, {
        headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
        signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
      });
    } catch {
      throw new ProviderRequestError('userinfo_unreachable', true);
    }
    if (!res.ok) throw new ProviderRequestError('userinfo_failed', isTransientStatus(res.status), res.status);
    const body = (await res.json()) as { sub?: unknown; email?: unknown; email_verified?: unknown };
    if (typeof body.sub !== 'string' || typeof body.email !== 'string' || body.email_verified === false) {
      throw new ProviderRequestError('email_unavailable', false);
    }
    return { sub: body.sub, email: body.email };
  }

  async refresh(secrets: ProviderSecrets, _accountId: string, _force: boolean): Promise<VaultContents> {
    if (secrets.provider !== 'google') throw new Error('not a Google grant');
    const client = this.client();
    client.setCredentials({ refresh_token: secrets.refreshToken });
    let token: string | null | undefined;
    try {
      ({ token } = await client.getAccessToken());
    } catch (error) {
      const { status, code } = describe(error);
      if (code === 'invalid_grant') throw new ReauthRequiredError('invalid_grant');
      throw new ProviderRequestError(code, isTransientStatus(status), status);
    }
    if (!token) throw new ProviderRequestError('no_access_token', true);
    const credentials = client.credentials;
    return {
      // Google normally keeps the refresh token; keep whichever is newest.
      secrets: { provider: 'google', refreshToken: credentials.refresh_token ?? secrets.refreshToken },
      access: { accessToken: token, expiresAt: new Date(credentials.expiry_date ?? Date.now() + 3_600_000) },
    };
  }

  /** RFC 7009 revocation; revoking the refresh token ends the whole grant (all its access tokens). */
  async revoke(secrets: ProviderSecrets): Promise<void> {
    if (secrets.provider !== 'google') throw new Error('not a Google grant');
    let res: Response;
    try {
      res = await fetch(this.config.GOOGLE_OAUTH_REVOKE_URL, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: secrets.refreshToken }).toString(),
        signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
      });
    } catch {
      throw new ProviderRequestError('revoke_unreachable', true);
    }
    if (res.ok) return;
    const body = (await res.json().catch(() => ({}))) as { error?: unknown };
    // Already revoked or expired: the goal (a dead grant) is reached.
    if (res.status === 400 && body.error === 'invalid_token') return;
    throw new ProviderRequestError(
      safeCode(body.error, `http_${res.status}`),
      isTransientStatus(res.status),
      res.status,
    );
  }
}
