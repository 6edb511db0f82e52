// Graph user routes: the signed-in user's profile (`GET /me`, `$select` incl. proxyAddresses) and
// `revokeSignInSessions`.
import { graphError } from './graph-errors';
import { type GraphRouteKit, type GraphRouter, json, need, USER } from './graph-route-kit';

export function registerUserRoutes(router: GraphRouter, kit: GraphRouteKit): void {
  const { c, base } = kit;
  // Any method reaches the handler so that a non-GET gets this resource's own 405.
  router.add('*', '/me', (call) => {
    if (call.ctx.method !== 'GET') throw graphError(405, 'Request_BadRequest', 'Unsupported method.');
    need(call.token, USER);
    const { ctx, mailbox } = call;
    const account = c.accounts.accountByOid(mailbox.oid);
    const user: Record<string, unknown> = {
      businessPhones: [],
      displayName: mailbox.displayName,
      givenName: account?.givenName ?? null,
      jobTitle: null,
      mail: mailbox.address,
      mobilePhone: null,
      officeLocation: null,
      preferredLanguage: 'en-US',
      surname: account?.surname ?? null,
      userPrincipalName: mailbox.address,
      id: mailbox.oid,
    };
    // Non-default properties (proxyAddresses, SND-7) only with $select, which also limits the answer to them.
    const select = (ctx.query.get('$select') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (select.length === 0) {
      json(ctx, { '@odata.context': `${base()}/$metadata#users/$entity`, ...user });
      return;
    }
    const all: Record<string, unknown> = { ...user, proxyAddresses: mailbox.proxyAddresses() };
    json(ctx, {
      '@odata.context': `${base()}/$metadata#users(${select.join(',')})/$entity`,
      ...Object.fromEntries(select.filter((k) => k in all).map((k) => [k, all[k]])),
    });
  });
  router.add('POST', '/me/revokeSignInSessions', (call) => {
    c.accounts.revokeSessions(call.mailbox.address);
    json(call.ctx, { '@odata.context': `${base()}/$metadata#Edm.Boolean`, value: true });
  });
}
