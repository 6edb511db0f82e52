import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import { connectionSnapshot, type ConnectionSnapshot } from '@mailbridge/contracts';
import type { Logger } from '@mailbridge/platform-observability';
import { INTERNAL_API_TOKEN, LOGGER, callInternalService } from '@mailbridge/platform-runtime';
import type { ConnectionView } from '../decisions/decision.types';
import { SYNC_ENGINE_CONFIG, type SyncEngineConfig } from '../sync-engine.config';

/**
 * The owner's current answer to "which connections does this user have here?" or "...watch this mailbox?"
 * (`GET /internal/connections?locationId=&userId=` / `?mailboxKey=`). Routing and inbound decisions ask it because the CRM shows a connect or disconnect as
 * soon as identity-connections commits it, while the event reaches the projection a moment later, on another topic.
 */
@Injectable()
export class IdentityConnectionsClient {
  private readonly baseUrl: string | null;

  constructor(
    @Inject(SYNC_ENGINE_CONFIG) private readonly config: SyncEngineConfig,
    @Inject(INTERNAL_API_TOKEN) private readonly internalToken: string,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.baseUrl = config.IDENTITY_CONNECTIONS_URL?.replace(/\/$/, '') ?? null;
  }

  /** The user's connections, or null when not configured or identity-connections could not answer (logged). */
  forUser(locationId: string, userId: string): Promise<ConnectionView[] | null> {
    return this.ask({ locationId, userId });
  }

  /** Every connection of one mailbox (all locations), or null as above. */
  forMailbox(mailboxKey: string): Promise<ConnectionView[] | null> {
    return this.ask({ mailboxKey });
  }

  private async ask(query: Record<string, string>): Promise<ConnectionView[] | null> {
    if (!this.baseUrl) return null;
    try {
      const res = await callInternalService({
        baseUrl: this.baseUrl,
        path: `/internal/connections?${new URLSearchParams(query)}`,
        token: this.internalToken,
        timeoutMs: this.config.IDENTITY_LOOKUP_TIMEOUT_MS,
      });
      if (res.status !== 200) throw new Error(`answered ${res.status}`);
      const parsed = answerSchema.safeParse(res.body);
      if (!parsed.success) throw new Error(`answered an unexpected body: ${parsed.error.message}`);
      return parsed.data.items.map(toView);
    } catch (error) {
      this.logger.warn(
        { ...query, err: (error as Error).message },
        'identity-connections did not answer: deciding with the connection projection alone',
      );
      return null;
    }
  }
}

/** identity-connections answers with the same snapshot its events carry (plus `endedAt`). */
const answerSchema = z.object({ items: z.array(connectionSnapshot) });

function toView(c: ConnectionSnapshot): ConnectionView {
  return {
    connectionId: c.connectionId,
    locationId: c.locationId,
    userId: c.userId,
    provider: c.provider,
    emailNormalized: c.emailAddress.trim().toLowerCase(),
    mailboxKey: c.mailboxKey,
    syncScope: c.syncScope,
    status: c.status,
  };
}

const FINAL = new Set<ConnectionView['status']>(['disconnected', 'replaced']);

/**
 * The owner's answer wins over the projection, except that an ended connection never comes back (the projection's
 * own rule). Returns the merged list and whether the answer changed anything (for the decision's trace).
 */
export function mergeConnections(
  projected: readonly ConnectionView[],
  current: readonly ConnectionView[] | null,
): { connections: ConnectionView[]; changed: string[] } {
  if (!current) return { connections: [...projected], changed: [] };
  const byId = new Map(projected.map((c) => [c.connectionId, c]));
  const changed: string[] = [];
  for (const fresh of current) {
    const known = byId.get(fresh.connectionId);
    if (known && FINAL.has(known.status)) continue;
    if (!known || known.status !== fresh.status) {
      changed.push(`${fresh.connectionId} ${known?.status ?? 'unknown'} -> ${fresh.status}`);
    }
    byId.set(fresh.connectionId, fresh);
  }
  return { connections: [...byId.values()], changed };
}
