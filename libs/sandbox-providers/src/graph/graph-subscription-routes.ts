// Graph subscription routes (tenant-level, `/subscriptions`): create, list, get, renew, delete and reauthorize
// change-notification subscriptions of the caller's mailbox, plus their JSON shape.
import { graphError } from './graph-errors';
import type { GraphMailbox } from './graph-mailbox';
import { type GraphRouteKit, type GraphRouter, json, readJson } from './graph-route-kit';
import type { GraphSubscription, GraphSubscriptions } from './graph-subscriptions';

/** The subscription paths; the dispatcher answers 405 for anything else under `/subscriptions`. */
export function registerSubscriptionRoutes(router: GraphRouter, kit: GraphRouteKit): void {
  const { c, base } = kit;
  const entity = () => `${base()}/$metadata#subscriptions/$entity`;
  router.add('POST', '/subscriptions', async (call) => {
    const body = await readJson<Record<string, unknown>>(call.ctx);
    const sub = await c.subscriptions.create(call.mailbox, call.token.clientId, body, call.immutable);
    json(call.ctx, { '@odata.context': entity(), ...subscriptionJson(sub) }, 201);
  });
  router.add('GET', '/subscriptions', (call) => {
    json(call.ctx, {
      '@odata.context': `${base()}/$metadata#subscriptions`,
      value: c.subscriptions
        .list()
        .filter((s) => s.mailbox === call.mailbox.address)
        .map(subscriptionJson),
    });
  });
  router.add('GET', '/subscriptions/:id', (call) => {
    const sub = subscription(c.subscriptions, call.ctx.params.id, call.mailbox);
    json(call.ctx, { '@odata.context': entity(), ...subscriptionJson(sub) });
  });
  router.add('PATCH', '/subscriptions/:id', async (call) => {
    const body = await readJson<{ expirationDateTime?: string }>(call.ctx);
    const sub = c.subscriptions.renew(
      subscription(c.subscriptions, call.ctx.params.id, call.mailbox),
      body.expirationDateTime,
    );
    json(call.ctx, { '@odata.context': entity(), ...subscriptionJson(sub) });
  });
  router.add('DELETE', '/subscriptions/:id', (call) => {
    subscription(c.subscriptions, call.ctx.params.id, call.mailbox);
    c.subscriptions.delete(call.ctx.params.id);
    call.ctx.send(204);
  });
  router.add('POST', '/subscriptions/:id/reauthorize', (call) => {
    c.subscriptions.reauthorize(subscription(c.subscriptions, call.ctx.params.id, call.mailbox));
    call.ctx.send(204);
  });
}

function subscription(
  subscriptions: GraphSubscriptions,
  id: string,
  mailbox: GraphMailbox,
): GraphSubscription {
  const s = subscriptions.get(id);
  if (!s || s.mailbox !== mailbox.address) {
    throw graphError(
      404,
      'ResourceNotFound',
      `The object was not found. Subscription '${id}' does not exist or belongs to another user.`,
    );
  }
  return s;
}

function subscriptionJson(s: GraphSubscription) {
  return {
    id: s.id,
    resource: s.resource,
    applicationId: s.applicationId,
    changeType: s.changeTypes.join(','),
    clientState: s.clientState ?? null,
    notificationUrl: s.notificationUrl,
    notificationQueryOptions: null,
    lifecycleNotificationUrl: s.lifecycleNotificationUrl ?? null,
    expirationDateTime: new Date(s.expiration).toISOString(),
    creatorId: s.creatorId,
    includeResourceData: false,
    latestSupportedTlsVersion: s.latestSupportedTlsVersion,
    encryptionCertificate: null,
    encryptionCertificateId: null,
    notificationUrlAppId: null,
  };
}
