import { Inject, Injectable } from '@nestjs/common';
import type { ProviderName } from '@mailbridge/contracts';
import type { Logger } from '@mailbridge/platform-observability';
import { AppError, LOGGER, isAppErrorLike } from '@mailbridge/platform-runtime';
import { ConnectionLifecycleService } from '../connections/connection-lifecycle.service';
import { ConnectionsRepository } from '../connections/connections.repository';
import { IDENTITY_CONFIG, type IdentityConnectionsConfig } from '../identity-connections.config';
import { OAuthFlowsService } from './oauth-flows.service';
import { OAuthStateError } from './oauth-state';
import { OAuthProviders } from '../oauth-clients/oauth-providers';
import { redirectUriFor } from '../oauth-clients/oauth-provider';
import { adminConsentUrl } from '../connections/connection-warning.rule';
import {
  AdminConsentRequiredError,
  InsufficientScopeError,
  isConsentRequired,
  ProviderRequestError,
  ReauthRequiredError,
  safeCode,
} from '../oauth-clients/provider-errors';
import { isReturnUrlAllowed, withOutcome } from './return-url-policy';

export interface CallbackQuery {
  readonly code?: string;
  readonly state?: string;
  readonly error?: string;
  readonly errorDescription?: string;
}

/**
 * The connect flow (CON-1, and CON-3/CON-5 when a connection exists): start → the provider's consent screen →
 * callback. The callback never answers with an error body: the browser is always sent somewhere with the outcome.
 */
@Injectable()
export class ConnectMailboxUseCase {
  private readonly fallbackResultUrl: string;

  constructor(
    @Inject(IDENTITY_CONFIG) private readonly config: IdentityConnectionsConfig,
    private readonly providers: OAuthProviders,
    private readonly flows: OAuthFlowsService,
    private readonly connections: ConnectionsRepository,
    private readonly lifecycle: ConnectionLifecycleService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.fallbackResultUrl =
      config.OAUTH_FALLBACK_RESULT_URL ?? `${config.PUBLIC_URL.replace(/\/+$/, '')}/v1/oauth/result`;
  }

  private redirectUri(provider: ProviderName): string {
    return redirectUriFor(this.config.PUBLIC_URL, provider);
  }

  async start(cmd: {
    provider: ProviderName;
    locationId: string;
    userId: string;
    returnUrl: string;
  }): Promise<{ authorizeUrl: string }> {
    const client = this.providers.get(cmd.provider);
    if (!client.configured) {
      throw new AppError(
        'unavailable',
        'provider_not_configured',
        `${cmd.provider} is not configured on this platform`,
      );
    }
    if (!isReturnUrlAllowed(cmd.returnUrl, this.config.OAUTH_RETURN_URL_ALLOWLIST)) {
      throw new AppError('validation', 'return_url_not_allowed', 'returnUrl is not on the allow-list', {
        field: 'returnUrl',
      });
    }
    // Re-consent (CON-5): suggest the account that needs it.
    const live = await this.connections.findLive(cmd.locationId, cmd.userId);
    const loginHint =
      live?.status === 'reauth_required' && live.provider === cmd.provider ? live.emailAddress : undefined;
    const flow = await this.flows.start({ ...cmd, returnUrl: new URL(cmd.returnUrl).toString() });
    try {
      const authorizeUrl = await client.authorizeUrl({
        state: flow.state,
        codeChallenge: flow.codeChallenge,
        redirectUri: this.redirectUri(cmd.provider),
        loginHint,
      });
      return { authorizeUrl };
    } catch (error) {
      if (error instanceof ProviderRequestError) {
        throw new AppError('unavailable', 'provider_unavailable', `${cmd.provider} sign-in is unavailable`);
      }
      throw error;
    }
  }

  /** Returns where to send the browser: the flow's return URL with `status=connected` or `status=error&reason=…`. */
  async complete(provider: ProviderName, query: CallbackQuery): Promise<string> {
    let flow;
    try {
      flow = await this.flows.consume(this.flows.verify(query.state, provider));
    } catch (error) {
      if (!(error instanceof OAuthStateError)) throw error;
      this.logger.warn({ provider, reason: error.reason }, 'oauth callback refused');
      return withOutcome(error.returnUrl ?? this.fallbackResultUrl, {
        status: 'error',
        reason: error.reason,
      });
    }
    const back = (outcome: Record<string, string>) => withOutcome(flow.returnUrl, outcome);
    if (query.error && provider === 'microsoft' && isConsentRequired(query.error, query.errorDescription)) {
      return this.adminConsentRequired(flow, safeCode(query.error));
    }
    if (query.error) {
      const providerError = safeCode(query.error);
      this.logger.info({ provider, providerError }, 'consent not given');
      return back({
        status: 'error',
        reason: providerError === 'access_denied' ? 'access_denied' : 'provider_error',
        providerError,
      });
    }
    if (!query.code) return back({ status: 'error', reason: 'missing_code' });
    try {
      const mailbox = await this.providers.get(provider).exchangeCode({
        code: query.code,
        codeVerifier: flow.codeVerifier,
        redirectUri: this.redirectUri(provider),
      });
      await this.lifecycle.establish({ locationId: flow.locationId, userId: flow.userId, provider, mailbox });
      return back({ status: 'connected' });
    } catch (error) {
      if (error instanceof AdminConsentRequiredError)
        return this.adminConsentRequired(flow, error.providerError);
      const outcome = this.failure(error);
      this.logger.warn({ provider, ...outcome }, 'oauth callback failed');
      return back({ status: 'error', ...outcome });
    }
  }

  /**
   * CON-7: the tenant lets only its administrator consent. Not a generic error: the outcome names it and carries the
   * tenant's admin-consent URL (from the configured authority), which the status shows too until a connect succeeds.
   */
  private async adminConsentRequired(
    flow: { locationId: string; userId: string; returnUrl: string },
    providerError: string,
  ): Promise<string> {
    const url = adminConsentUrl(
      this.config.MICROSOFT_AUTHORITY_HOST,
      this.config.MICROSOFT_TENANT,
      this.config.MICROSOFT_CLIENT_ID ?? '',
      this.redirectUri('microsoft'),
    );
    await this.lifecycle.recordAdminConsentRequired({
      locationId: flow.locationId,
      userId: flow.userId,
      adminConsentUrl: url,
      providerError,
    });
    this.logger.warn({ provider: 'microsoft', providerError }, 'tenant requires admin consent');
    return withOutcome(flow.returnUrl, {
      status: 'admin_consent_required',
      reason: 'admin_consent_required',
      adminConsentUrl: url,
    });
  }

  private failure(error: unknown): Record<string, string> {
    if (error instanceof ProviderRequestError)
      return { reason: 'token_exchange_failed', providerError: error.providerError };
    if (error instanceof ReauthRequiredError)
      return { reason: 'token_exchange_failed', providerError: error.reason };
    if (error instanceof InsufficientScopeError) return { reason: 'insufficient_scope' };
    if (isAppErrorLike(error)) return { reason: error.code };
    this.logger.error({ err: { message: (error as Error)?.message } }, 'oauth callback crashed');
    return { reason: 'internal_error' };
  }
}
