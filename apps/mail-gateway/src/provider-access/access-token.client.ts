import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from '@mailbridge/platform-observability';
import {
  INTERNAL_API_TOKEN,
  LOGGER,
  callInternalService,
  type InternalServiceResponse,
} from '@mailbridge/platform-runtime';
import { MAIL_GATEWAY_CONFIG, type MailGatewayConfig } from '../mail-gateway.config';
import { AccessTokenUnavailableError } from './provider-failure';

/** Tokens are reused until this long before they expire. */
const REUSE_MARGIN_MS = 5 * 60_000;

interface CachedToken {
  readonly accessToken: string;
  readonly expiresAt: number;
}

/**
 * Access tokens from identity-connections (`POST /internal/connections/{id}/access-token`), cached per connection
 * until 5 minutes before expiry. OAuth tokens never travel on the bus and are never logged.
 */
@Injectable()
export class AccessTokenClient {
  private readonly cache = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    @Inject(MAIL_GATEWAY_CONFIG) private readonly config: MailGatewayConfig,
    @Inject(INTERNAL_API_TOKEN) private readonly internalToken: string,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** A token for this connection; `forceRefresh` after the provider refused the cached one (401). */
  async tokenFor(connectionId: string, forceRefresh = false): Promise<string> {
    const cached = this.cache.get(connectionId);
    if (!forceRefresh && cached && cached.expiresAt - Date.now() > REUSE_MARGIN_MS) return cached.accessToken;
    const key = `${connectionId}:${forceRefresh}`;
    const flight = this.inflight.get(key);
    if (flight) return flight;
    const request = this.fetchToken(connectionId, forceRefresh).finally(() => this.inflight.delete(key));
    this.inflight.set(key, request);
    return request;
  }

  /** A still-valid token already held for this connection, without asking identity-connections. */
  cached(connectionId: string): string | undefined {
    const cached = this.cache.get(connectionId);
    return cached && cached.expiresAt > Date.now() + 5_000 ? cached.accessToken : undefined;
  }

  forget(connectionId: string): void {
    this.cache.delete(connectionId);
  }

  private async fetchToken(connectionId: string, forceRefresh: boolean): Promise<string> {
    let res: InternalServiceResponse;
    try {
      res = await callInternalService({
        baseUrl: this.config.IDENTITY_CONNECTIONS_URL,
        path: `/internal/connections/${encodeURIComponent(connectionId)}/access-token`,
        method: 'POST',
        json: { forceRefresh },
        token: this.internalToken,
        timeoutMs: this.config.PROVIDER_TIMEOUT_MS,
      });
    } catch (error) {
      throw new AccessTokenUnavailableError('temporary', (error as Error).message);
    }
    const body = res.body as
      { accessToken?: string; expiresAt?: string; error?: { code?: string } } | undefined;
    if (res.status === 200 && body?.accessToken) {
      const expiresAt = Date.parse(body.expiresAt ?? '') || Date.now() + 10 * 60_000;
      this.cache.set(connectionId, { accessToken: body.accessToken, expiresAt });
      return body.accessToken;
    }
    this.cache.delete(connectionId);
    if (res.status === 409) {
      throw new AccessTokenUnavailableError(
        'auth_revoked',
        `connection ${connectionId} needs re-authentication`,
      );
    }
    if (res.status === 410 || res.status === 404) {
      throw new AccessTokenUnavailableError('auth_revoked', `connection ${connectionId} has ended`, true);
    }
    this.logger.warn(
      { connectionId, status: res.status, code: body?.error?.code },
      'access token request failed',
    );
    throw new AccessTokenUnavailableError('temporary', `identity-connections answered ${res.status}`);
  }
}
