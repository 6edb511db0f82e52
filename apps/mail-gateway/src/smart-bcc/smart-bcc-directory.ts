import { Inject, Injectable } from '@nestjs/common';
import {
  INTERNAL_API_TOKEN,
  callInternalService,
  type InternalServiceResponse,
} from '@mailbridge/platform-runtime';
import { isStorableText } from '@mailbridge/contracts';
import { MAIL_GATEWAY_CONFIG, type MailGatewayConfig } from '../mail-gateway.config';

/** Whose smart-BCC address this is (identity-connections' `GET /internal/smart-bcc/{address}`). */
export interface SmartBccOwner {
  /** The smart-BCC address, lower-cased. */
  readonly address: string;
  readonly locationId: string;
  readonly userId: string;
  /** The user's active connection, if any. */
  readonly connectionId: string | null;
  /** Its mailbox address: the sender the user's smart-BCC mail must come from. */
  readonly emailAddress: string | null;
  /** The user's connected provider, when there is an active connection. */
  readonly provider: 'google' | 'microsoft' | null;
}

/** identity-connections could not answer: the SMTP client is told to try again later (4xx). */
export class SmartBccLookupUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SmartBccLookupUnavailableError';
  }
}

interface CachedLookup {
  readonly owner: SmartBccOwner | null;
  readonly until: number;
}

const MAX_CACHED = 10_000;

/**
 * Resolves RCPT TO addresses to their (location, user) through identity-connections, cached briefly (found and not
 * found alike, so a dictionary attack does not turn into one lookup per RCPT).
 */
@Injectable()
export class SmartBccDirectory {
  private readonly cache = new Map<string, CachedLookup>();
  private readonly inflight = new Map<string, Promise<SmartBccOwner | null>>();
  private readonly domains: readonly string[] | undefined;

  constructor(
    @Inject(MAIL_GATEWAY_CONFIG) private readonly config: MailGatewayConfig,
    @Inject(INTERNAL_API_TOKEN) private readonly internalToken: string,
  ) {
    this.domains = config.SMART_BCC_DOMAINS?.map((d) => d.toLowerCase());
  }

  /** The owner of this address, or null when it is not a smart-BCC address. */
  async resolve(address: string): Promise<SmartBccOwner | null> {
    const normalized = address.trim().toLowerCase();
    const at = normalized.lastIndexOf('@');
    if (at <= 0 || at === normalized.length - 1) return null;
    // We never issue an address PostgreSQL cannot hold (NUL, lone surrogate): not ours, a permanent 550, not a retry.
    if (!isStorableText(normalized)) return null;
    if (this.domains && !this.domains.includes(normalized.slice(at + 1))) return null;
    const cached = this.cache.get(normalized);
    if (cached && cached.until > Date.now()) return cached.owner;
    const flight = this.inflight.get(normalized);
    if (flight) return flight;
    const request = this.lookup(normalized).finally(() => this.inflight.delete(normalized));
    this.inflight.set(normalized, request);
    return request;
  }

  private async lookup(address: string): Promise<SmartBccOwner | null> {
    let res: InternalServiceResponse;
    try {
      res = await callInternalService({
        baseUrl: this.config.IDENTITY_CONNECTIONS_URL,
        path: `/internal/smart-bcc/${encodeURIComponent(address)}`,
        token: this.internalToken,
        timeoutMs: this.config.PROVIDER_TIMEOUT_MS,
      });
    } catch (error) {
      throw new SmartBccLookupUnavailableError((error as Error).message);
    }
    let owner: SmartBccOwner | null;
    if (res.status === 404) {
      owner = null;
    } else if (res.status === 200) {
      const body = res.body as
        | {
            locationId?: unknown;
            userId?: unknown;
            connectionId?: unknown;
            emailAddress?: unknown;
            provider?: unknown;
          }
        | undefined;
      if (typeof body?.locationId !== 'string' || typeof body.userId !== 'string') {
        throw new SmartBccLookupUnavailableError('identity-connections answered an unexpected body');
      }
      owner = {
        address,
        locationId: body.locationId,
        userId: body.userId,
        connectionId: typeof body.connectionId === 'string' ? body.connectionId : null,
        emailAddress: typeof body.emailAddress === 'string' ? body.emailAddress.toLowerCase() : null,
        provider: body.provider === 'google' || body.provider === 'microsoft' ? body.provider : null,
      };
    } else {
      throw new SmartBccLookupUnavailableError(`identity-connections answered ${res.status}`);
    }
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(address, { owner, until: Date.now() + this.config.SMART_BCC_LOOKUP_CACHE_SECONDS * 1000 });
    return owner;
  }
}
