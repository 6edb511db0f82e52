import { Inject, Injectable } from '@nestjs/common';
import {
  AuthenticationResult,
  ConfidentialClientApplication,
  InteractionRequiredAuthError,
  LogLevel,
  ResponseMode,
  ServerError,
} from '@azure/msal-node';
import { LOGGER } from '@mailbridge/platform-runtime';
import type { Logger } from '@mailbridge/platform-observability';
import { IDENTITY_CONFIG, type IdentityConnectionsConfig } from '../identity-connections.config';
import type { ProviderSecrets, VaultContents } from '../vault/vault-contents';
import { MsalVaultCachePlugin } from './msal-vault-cache.plugin';
import {
  AuthorizeRequest,
  CodeExchange,
  ConsentedMailbox,
  OAuthProviderClient,
  PROVIDER_TIMEOUT_MS,
} from './oauth-provider';
import {
  AdminConsentRequiredError,
  InsufficientScopeError,
  isConsentRequired,
  ProviderRequestError,
  ReauthRequiredError,
  isTransientStatus,
  safeCode,
} from './provider-errors';
import { storableText } from '@mailbridge/contracts';

/** What sync needs from Graph (CON-1). */
export const MICROSOFT_GRAPH_SCOPES = ['Mail.ReadWrite', 'Mail.Send', 'User.Read'];
/** At consent: plus a refresh token and the user's address (MSAL adds openid/profile/offline_access anyway). */
const CONSENT_SCOPES = [...MICROSOFT_GRAPH_SCOPES, 'offline_access', 'openid', 'email'];

function reduceMsalError(error: unknown, refreshing: boolean): Error {
  const e = error as { errorCode?: string; subError?: string; errorMessage?: string };
  // CON-7: at sign-in, "nobody consented" means the tenant wants its admin's consent (users may not consent).
  if (
    !refreshing &&
    (e?.subError === 'consent_required' || isConsentRequired(e?.errorCode, e?.errorMessage))
  ) {
    return new AdminConsentRequiredError(safeCode(e?.subError || e?.errorCode, 'consent_required'));
  }
  if (error instanceof InteractionRequiredAuthError) {
    return new ReauthRequiredError(safeCode(error.subError || error.errorCode, 'interaction_required'));
  }
  if (error instanceof ServerError) {
    // Microsoft: do not build logic on AADSTS numbers; an invalid_grant means "ask the user again".
    if (refreshing && error.errorCode === 'invalid_grant') return new ReauthRequiredError('invalid_grant');
    const status = (error as { status?: number }).status;
    return new ProviderRequestError(safeCode(error.errorCode), isTransientStatus(status), status);
  }
  const code = (error as { errorCode?: unknown })?.errorCode;
  return new ProviderRequestError(safeCode(code, 'network_error'), true);
}

/**
 * Microsoft identity platform through MSAL Node: an https authority from configuration (the real cloud or the
 * sandbox), `knownAuthorities` so no instance discovery is needed. The token cache of each connection lives in the
 * vault and reaches MSAL only through its cache plugin; MSAL never exposes the refresh token itself.
 */
@Injectable()
export class MicrosoftOAuthClient implements OAuthProviderClient {
  readonly provider = 'microsoft' as const;
  private authorityMetadata?: Promise<string>;

  constructor(
    @Inject(IDENTITY_CONFIG) private readonly config: IdentityConnectionsConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  get configured(): boolean {
    return Boolean(this.config.MICROSOFT_CLIENT_ID && this.config.MICROSOFT_CLIENT_SECRET);
  }

  private get authority(): string {
    return `${new URL(this.config.MICROSOFT_AUTHORITY_HOST).origin}/${this.config.MICROSOFT_TENANT}`;
  }

  /**
   * The authority's OpenID metadata, fetched once per process: MSAL would otherwise fetch it for every client
   * instance, and we create one per operation (each connection has its own cache).
   */
  private metadata(): Promise<string> {
    this.authorityMetadata ??= (async () => {
      const res = await fetch(`${this.authority}/v2.0/.well-known/openid-configuration`, {
        signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
      });
      if (!res.ok) throw new ProviderRequestError('authority_metadata_failed', true, res.status);
      return JSON.stringify(await res.json());
    })().catch((error: unknown) => {
      this.authorityMetadata = undefined;
      throw error instanceof ProviderRequestError
        ? error
        : new ProviderRequestError('authority_unreachable', true);
    });
    return this.authorityMetadata;
  }

  private async app(cache: MsalVaultCachePlugin): Promise<ConfidentialClientApplication> {
    const host = new URL(this.config.MICROSOFT_AUTHORITY_HOST);
    return new ConfidentialClientApplication({
      auth: {
        clientId: this.config.MICROSOFT_CLIENT_ID ?? '',
        clientSecret: this.config.MICROSOFT_CLIENT_SECRET,
        authority: this.authority,
        knownAuthorities: [host.host],
        authorityMetadata: await this.metadata(),
      },
      cache: { cachePlugin: cache },
      system: {
        loggerOptions: {
          piiLoggingEnabled: false,
          logLevel: LogLevel.Warning,
          loggerCallback: (_level, message, containsPii) => {
            if (!containsPii) this.logger.debug({ component: 'msal' }, message);
          },
        },
      },
    });
  }

  async authorizeUrl(request: AuthorizeRequest): Promise<string> {
    const app = await this.app(new MsalVaultCachePlugin(undefined));
    try {
      return await app.getAuthCodeUrl({
        scopes: CONSENT_SCOPES,
        redirectUri: request.redirectUri,
        state: request.state,
        codeChallenge: request.codeChallenge,
        codeChallengeMethod: 'S256',
        responseMode: ResponseMode.QUERY,
        prompt: 'select_account',
        loginHint: request.loginHint,
      });
    } catch (error) {
      throw reduceMsalError(error, false);
    }
  }

  async exchangeCode(exchange: CodeExchange): Promise<ConsentedMailbox> {
    const cache = new MsalVaultCachePlugin(undefined);
    const app = await this.app(cache);
    let result: AuthenticationResult;
    try {
      result = await app.acquireTokenByCode({
        code: exchange.code,
        scopes: CONSENT_SCOPES,
        redirectUri: exchange.redirectUri,
        codeVerifier: exchange.codeVerifier,
      });
    } catch (error) {
      throw reduceMsalError(error, false);
    }
    if (!result.account) throw new ProviderRequestError('no_account', false);
    const granted = result.scopes.map((s) => s.toLowerCase());
    const missing = MICROSOFT_GRAPH_SCOPES.filter((s) => !granted.includes(s.toLowerCase()));
    if (missing.length > 0) throw new InsufficientScopeError(missing);
    const emailAddress = await this.mailboxAddress(result.accessToken);
    const msalCache = cache.snapshot ?? app.getTokenCache().serialize();
    return {
      // The provider's profile is outside text like any other: made storable before it reaches an insert.
      emailAddress: storableText(emailAddress),
      providerAccountId: storableText(result.account.homeAccountId),
      grantedScopes: result.scopes,
      contents: {
        secrets: { provider: 'microsoft', msalCache },
        access: { accessToken: result.accessToken, expiresAt: this.expiry(result) },
      },
    };
  }

  /** Graph `/me`: `mail`, or the UPN for accounts without one (personal accounts), never the request's word. */
  private async mailboxAddress(accessToken: string): Promise<string> {
    const base = this.config.MICROSOFT_GRAPH_BASE_URL.replace(/\/+$/, '');
    let res: Response;
    try {
      res = await fetch(`${base}/v1.0/me`, {
        headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
        signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
      });
    } catch {
      throw new ProviderRequestError('graph_unreachable', true);
    }
    if (!res.ok) throw new ProviderRequestError('graph_me_failed', isTransientStatus(res.status), res.status);
    const me = (await res.json()) as { mail?: unknown; userPrincipalName?: unknown };
    const address = typeof me.mail === 'string' && me.mail ? me.mail : me.userPrincipalName;
    if (typeof address !== 'string' || !address.includes('@')) {
      throw new ProviderRequestError('email_unavailable', false);
    }
    return address;
  }

  private expiry(result: AuthenticationResult): Date {
    return result.expiresOn ?? new Date(Date.now() + 3_600_000);
  }

  async refresh(secrets: ProviderSecrets, homeAccountId: string, force: boolean): Promise<VaultContents> {
    if (secrets.provider !== 'microsoft') throw new Error('not a Microsoft grant');
    const cache = new MsalVaultCachePlugin(secrets.msalCache);
    const app = await this.app(cache);
    const account = await app.getTokenCache().getAccountByHomeId(homeAccountId);
    if (!account) throw new ReauthRequiredError('account_not_in_cache');
    let result: AuthenticationResult;
    try {
      // MSAL renews an access token that has less than 5 minutes left (its default renewal offset).
      result = await app.acquireTokenSilent({ account, scopes: MICROSOFT_GRAPH_SCOPES, forceRefresh: force });
    } catch (error) {
      throw reduceMsalError(error, true);
    }
    return {
      // Entra rolls the refresh token on every refresh: the newest cache replaces the stored one.
      secrets: { provider: 'microsoft', msalCache: cache.snapshot ?? secrets.msalCache },
      access: { accessToken: result.accessToken, expiresAt: this.expiry(result) },
    };
  }

  /**
   * Entra has no revocation endpoint for one app's grant (RFC 7009); `revokeSignInSessions` would sign the user out
   * of every app and device. Destroying our only copy of the token cache is the revocation (see the docs).
   */
  async revoke(secrets: ProviderSecrets): Promise<void> {
    if (secrets.provider !== 'microsoft') throw new Error('not a Microsoft grant');
  }
}
