import { HttpError, type RequestContext, Router } from '../shared/http-kit';
import type { FaultSpec } from '../shared/faults';
import type { ConsentSettings } from '../shared/consent';
import type { DeliveryBehaviour } from '../shared/webhook-dispatcher';
import type { FolderName } from '../graph/graph-mailbox';
import type { LifecycleEvent } from '../graph/graph-subscriptions';
import type {
  InboundMessage,
  MessageStateAction,
  OwnerMessage,
  ProviderName,
  SandboxControl,
} from './sandbox-control';
import type { FaultTargetName } from './sandbox-state';
import { type BulkDeliveryItem, bulkDeliveryInputError } from './bulk-delivery';

export interface ControlRoutesContext {
  control: SandboxControl;
  env: () => Record<string, string>;
  urls: () => Record<string, string>;
  caCertPem: string;
}

/** The control API over HTTP: JSON under `/_sandbox/…`, served by every emulator server. */
export function controlRoutes(c: ControlRoutesContext): (ctx: RequestContext) => Promise<void> {
  const router = new Router();
  const body = async <T>(ctx: RequestContext): Promise<T> => ((await ctx.json<T>()) ?? ({} as T)) as T;
  const ok = (ctx: RequestContext, value: unknown, status = 200) => ctx.json200(value, status);

  router.add('GET', '/_sandbox', (ctx) =>
    ok(ctx, { urls: c.urls(), mailboxes: c.control.listMailboxes(), env: c.env() }),
  );
  router.add('GET', '/_sandbox/env', (ctx) => ok(ctx, c.env()));
  router.add('GET', '/_sandbox/ca.pem', (ctx) =>
    ctx.send(200, c.caCertPem, { 'content-type': 'application/x-pem-file' }),
  );
  router.add('GET', '/_sandbox/mailboxes', (ctx) => ok(ctx, c.control.listMailboxes()));
  router.add('POST', '/_sandbox/mailboxes', async (ctx) => {
    const input = await body<{ provider: ProviderName; address: string; displayName?: string }>(ctx);
    ok(ctx, c.control.createMailbox(input), 201);
  });
  router.add('POST', '/_sandbox/bulk-mailboxes', async (ctx) => {
    const input = await body<{ provider: ProviderName; addresses: string[] }>(ctx);
    if (!Array.isArray(input.addresses)) throw new HttpError(400, { error: 'addresses must be an array' });
    ok(ctx, c.control.createMailboxes(input), 201);
  });
  router.add('GET', '/_sandbox/watched-mailboxes', (ctx) =>
    ok(ctx, { google: c.control.watchedGmailMailboxes() }),
  );
  router.add('GET', '/_sandbox/mailboxes/:address', (ctx) => ok(ctx, c.control.mailbox(ctx.params.address)));
  router.add('POST', '/_sandbox/mailboxes/:address/deliver', async (ctx) =>
    ok(ctx, await c.control.deliver(ctx.params.address, await body<InboundMessage>(ctx)), 201),
  );
  router.add('POST', '/_sandbox/bulk-deliver', async (ctx) => {
    const input = await body<{ messages: BulkDeliveryItem[] }>(ctx);
    const error = bulkDeliveryInputError(input);
    if (error) throw new HttpError(400, { error });
    ok(ctx, { results: await c.control.bulkDeliver(input.messages) });
  });
  router.add('POST', '/_sandbox/mailboxes/:address/send', async (ctx) =>
    ok(ctx, await c.control.send(ctx.params.address, await body<OwnerMessage>(ctx)), 201),
  );
  router.add('POST', '/_sandbox/mailboxes/:address/tokens', async (ctx) =>
    ok(ctx, c.control.issueTokens(ctx.params.address, (await body<{ scopes?: string[] }>(ctx)).scopes), 201),
  );
  router.add('POST', '/_sandbox/mailboxes/:address/revoke-tokens', (ctx) =>
    ok(ctx, { revoked: c.control.revokeTokens(ctx.params.address) }),
  );
  router.add('POST', '/_sandbox/mailboxes/:address/expire-access-tokens', (ctx) =>
    ok(ctx, { expired: c.control.expireAccessTokens(ctx.params.address) }),
  );
  router.add('POST', '/_sandbox/mailboxes/:address/expire-refresh-tokens', (ctx) =>
    ok(ctx, { expired: c.control.expireRefreshTokens(ctx.params.address) }),
  );
  router.add('POST', '/_sandbox/mailboxes/:address/change-password', (ctx) => {
    c.control.changePassword(ctx.params.address);
    ok(ctx, { changed: true });
  });
  router.add('POST', '/_sandbox/mailboxes/:address/expire-history', (ctx) => {
    c.control.expireHistory(ctx.params.address);
    ok(ctx, { expired: true });
  });
  router.add('POST', '/_sandbox/mailboxes/:address/expire-delta', async (ctx) => {
    c.control.expireDelta(ctx.params.address, (await body<{ folder?: FolderName }>(ctx)).folder);
    ok(ctx, { expired: true });
  });
  router.add('PUT', '/_sandbox/mailboxes/:address/send-as', async (ctx) =>
    ok(
      ctx,
      c.control.setSendAs(
        ctx.params.address,
        await body<{
          aliases: { address: string; displayName?: string; verified?: boolean; signature?: string }[];
          signature?: string;
        }>(ctx),
      ),
    ),
  );
  router.add('POST', '/_sandbox/mailboxes/:address/messages/:id/state', async (ctx) =>
    ok(
      ctx,
      c.control.changeMessageState(
        ctx.params.address,
        ctx.params.id,
        (await body<{ action: MessageStateAction }>(ctx)).action,
      ),
    ),
  );
  router.add('GET', '/_sandbox/mailboxes/:address/messages/:id/state', (ctx) =>
    ok(ctx, c.control.messageState(ctx.params.address, ctx.params.id)),
  );
  router.add('GET', '/_sandbox/mailboxes/:address/modify-calls', (ctx) =>
    ok(ctx, { modifyCalls: c.control.modifyCalls(ctx.params.address) }),
  );
  router.add('GET', '/_sandbox/outbound', (ctx) => ok(ctx, c.control.outbound()));
  router.add('POST', '/_sandbox/faults', async (ctx) => {
    const input = await body<FaultSpec & { target: FaultTargetName }>(ctx);
    const { target, ...spec } = input;
    ok(ctx, { id: c.control.injectFault(target, spec) }, 201);
  });
  router.add('DELETE', '/_sandbox/faults', (ctx) => {
    c.control.clearFaults((ctx.query.get('target') as FaultTargetName | null) ?? undefined);
    ctx.send(204);
  });
  router.add('GET', '/_sandbox/notifications/:provider', (ctx) =>
    ok(ctx, c.control.notifications(ctx.params.provider as ProviderName)),
  );
  router.add('PUT', '/_sandbox/notifications', async (ctx) => {
    const input = await body<Partial<DeliveryBehaviour> & { provider?: ProviderName | 'all' }>(ctx);
    const { provider, ...behaviour } = input;
    c.control.setNotificationBehaviour(provider ?? 'all', behaviour);
    ok(ctx, { ok: true });
  });
  router.add('POST', '/_sandbox/notifications/release', async (ctx) => {
    const input = await body<{ provider?: ProviderName | 'all' }>(ctx);
    ok(ctx, { released: c.control.releaseHeldNotifications(input.provider ?? 'all') });
  });
  router.add('PUT', '/_sandbox/pubsub/topic', async (ctx) =>
    ok(
      ctx,
      c.control.setPushEndpoint(
        await body<{ pushEndpoint: string; topicName?: string; audience?: string }>(ctx),
      ),
    ),
  );
  router.add('GET', '/_sandbox/graph/subscriptions', (ctx) =>
    ok(ctx, c.control.subscriptions(ctx.query.get('mailbox') ?? undefined)),
  );
  router.add('POST', '/_sandbox/graph/lifecycle', async (ctx) => {
    const input = await body<{ subscriptionId?: string; mailbox?: string; event: LifecycleEvent }>(ctx);
    ok(ctx, { sent: c.control.lifecycle(input, input.event) });
  });
  router.add('PUT', '/_sandbox/consent/:provider', async (ctx) =>
    ok(
      ctx,
      c.control.setConsent(ctx.params.provider as ProviderName, await body<Partial<ConsentSettings>>(ctx)),
    ),
  );
  router.add('PUT', '/_sandbox/oauth/policy', async (ctx) =>
    ok(
      ctx,
      c.control.setOAuthPolicy(
        await body<{ googleTestingMode?: boolean; microsoftAdminConsentRequired?: boolean }>(ctx),
      ),
    ),
  );
  router.add('PUT', '/_sandbox/gmail/quota', async (ctx) => {
    c.control.setGmailQuota(await body(ctx));
    ok(ctx, { ok: true });
  });
  router.add('PUT', '/_sandbox/gmail/history', async (ctx) => {
    c.control.setHistoryRetention((await body<{ retentionMs: number }>(ctx)).retentionMs);
    ok(ctx, { ok: true });
  });
  router.add('PUT', '/_sandbox/graph/limits', async (ctx) => {
    c.control.setGraphLimits(await body(ctx));
    ok(ctx, { ok: true });
  });

  return async (ctx) => {
    const route = router.match(ctx.method, ctx.path);
    if (route === 'method') throw new HttpError(405, { error: 'method not allowed' });
    if (!route) throw new HttpError(404, { error: `unknown control endpoint ${ctx.method} ${ctx.path}` });
    ctx.params = route.params;
    try {
      await route.handler(ctx);
    } catch (e) {
      if (e instanceof HttpError) throw e;
      if (e instanceof SyntaxError) throw new HttpError(400, { error: `invalid JSON: ${e.message}` });
      throw new HttpError(400, { error: e instanceof Error ? e.message : String(e) });
    }
  };
}
