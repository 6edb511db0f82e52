import { Inject, Injectable } from '@nestjs/common';
import {
  type SendAsAddress,
  type SendAsProfile,
  microsoftProxySendAs,
  verifiedGmailSendAs,
} from '@mailbridge/domain-mail';
import type { Logger } from '@mailbridge/platform-observability';
import { AppError, LOGGER } from '@mailbridge/platform-runtime';
import { IDENTITY_CONFIG, type IdentityConnectionsConfig } from '../identity-connections.config';
import { PROVIDER_TIMEOUT_MS } from '../oauth-clients/oauth-provider';
import { AccessTokenService } from './access-token.service';
import type { ConnectionEntity } from './connection.entity';
import { ConnectionsRepository } from './connections.repository';

/** Read again from the provider when older than this (a user adds an alias in Gmail settings now and then). */
const FRESH_MS = 5 * 60_000;

/**
 * SND-7: the addresses a connection may send as, read from the provider (Gmail `users.settings.sendAs.list`: the
 * primary and `accepted` aliases with their signatures; Microsoft Graph `/me?$select=proxyAddresses`: `SMTP:`/`smtp:`
 * entries), kept on the connection so a provider hiccup answers the last known list instead of nothing.
 */
@Injectable()
export class SendAsService {
  constructor(
    @Inject(IDENTITY_CONFIG) private readonly config: IdentityConnectionsConfig,
    private readonly connections: ConnectionsRepository,
    private readonly tokens: AccessTokenService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** The connection's send-as profile; `fresh` reads the provider even if the stored list is recent. */
  async profile(connection: ConnectionEntity, fresh = false): Promise<SendAsProfile> {
    // A list read for another mailbox (the connection's email was updated since, CON-3) is no list at all.
    const current = connection.emailAddress?.toLowerCase();
    let addresses = connection.sendAs?.some((a) => a.address.toLowerCase() === current)
      ? connection.sendAs
      : undefined;
    const stale = !connection.sendAsReadAt || Date.now() - connection.sendAsReadAt.getTime() > FRESH_MS;
    if (connection.status === 'active' && (fresh || stale || !addresses)) {
      try {
        addresses = await this.read(connection);
        await this.connections.storeSendAs(connection.connectionId, addresses, new Date());
      } catch (error) {
        this.logger.warn(
          {
            connectionId: connection.connectionId,
            code: (error as { code?: string }).code ?? 'provider_error',
          },
          'send-as addresses could not be read; using the last known list',
        );
        if (!addresses) {
          throw new AppError(
            'unavailable',
            'send_as_unavailable',
            'The mailbox provider could not be asked now',
          );
        }
      }
    }
    return {
      mailboxAddress: connection.emailAddress,
      addresses: addresses ?? [],
      appendSignature: connection.appendSignature,
      crmSignature: connection.crmSignature,
    };
  }

  private async read(connection: ConnectionEntity): Promise<SendAsAddress[]> {
    const { accessToken } = await this.tokens.accessToken(connection.connectionId);
    if (connection.provider === 'google') {
      const root = this.config.GMAIL_API_ROOT_URL.replace(/\/+$/, '');
      const body = await this.get<{ sendAs?: Parameters<typeof verifiedGmailSendAs>[0] }>(
        `${root}/gmail/v1/users/me/settings/sendAs`,
        accessToken,
      );
      return verifiedGmailSendAs(body.sendAs ?? []);
    }
    const base = this.config.MICROSOFT_GRAPH_BASE_URL.replace(/\/+$/, '');
    const me = await this.get<{ proxyAddresses?: unknown }>(
      `${base}/v1.0/me?$select=proxyAddresses`,
      accessToken,
    );
    const proxies = Array.isArray(me.proxyAddresses)
      ? me.proxyAddresses.filter((p): p is string => typeof p === 'string')
      : [];
    // Personal Microsoft accounts have no proxy addresses: the mailbox address alone.
    return proxies.length > 0
      ? microsoftProxySendAs(proxies)
      : [{ address: connection.emailAddress, primary: true, signatureHtml: null }];
  }

  private async get<T>(url: string, accessToken: string): Promise<T> {
    const res = await fetch(url, {
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
      signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
    });
    if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { code: `http_${res.status}` });
    return (await res.json()) as T;
  }
}
