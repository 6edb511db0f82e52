import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { messageSyncedV1, sendRequestedV1, type ConnectionSnapshot } from '@mailbridge/contracts';
import { mergeConnections } from '../connections/identity-connections.client';
import { connection as connectionView } from '../testing/builders';
import {
  connected,
  connectionSnapshot,
  contactUpserted,
  disconnected,
  emailRequested,
  observedEvent,
  observedMessage,
} from '../testing/events';
import { Harness, startInProcessHarness } from '../testing/harness';

/**
 * SND-1 / CON-4 at the moment of a connect or disconnect: the CRM shows the change as soon as identity-connections
 * commits it, while the connection event reaches sync-engine later, on another topic. Routing asks
 * identity-connections (here a stub speaking its internal route) and trusts its answer over the projection.
 */
describe('routing reads the connection from its owner (PostgreSQL + in-process bus)', () => {
  let h: Harness;
  let identity: http.Server;
  const answers = new Map<string, ConnectionSnapshot[] | 'down'>();
  const asked: string[] = [];

  beforeAll(async () => {
    identity = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://identity');
      const auth = req.headers.authorization === `Bearer ${h?.service.internalApiToken}`;
      const key =
        url.searchParams.get('mailboxKey') ??
        `${url.searchParams.get('locationId')}/${url.searchParams.get('userId')}`;
      asked.push(key);
      const answer = answers.get(key) ?? [];
      if (url.pathname !== '/internal/connections' || !auth || answer === 'down') {
        res.writeHead(auth ? 503 : 401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'unavailable', message: 'no' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ items: answer.map((c) => ({ ...c, endedAt: null })) }));
    });
    await new Promise<void>((resolve) => identity.listen(0, '127.0.0.1', resolve));
    const port = (identity.address() as AddressInfo).port;
    h = await startInProcessHarness({ IDENTITY_CONNECTIONS_URL: `http://127.0.0.1:${port}` });
  });
  afterAll(async () => {
    await h?.close();
    await new Promise((resolve) => identity?.close(resolve));
  });

  const routeOf = async (locationId: string) => {
    const request = emailRequested({ locationId });
    await h.publish(request);
    const [send] = await h.log.waitFor(sendRequestedV1, (p) => p.sendId === request.payload.messageId);
    return { send, request };
  };

  it('SND-1, SYN-1: an email requested right after connecting goes through the new mailbox although the connection event has not arrived yet', async () => {
    const c = connectionSnapshot({ locationId: 'loc_f1', emailAddress: 'sam.f1@acme.example' });
    answers.set('loc_f1/usr_sam', [c]);
    const { send, request } = await routeOf('loc_f1');
    expect(send.route).toEqual({
      kind: 'mailbox',
      connectionId: c.connectionId,
      provider: 'google',
      mailboxKey: c.mailboxKey,
      fromAddress: 'sam.f1@acme.example',
    });
    expect(asked).toContain('loc_f1/usr_sam');
    // Explainability: the decision says why the projection was overruled.
    const decision = await h.get('/internal/decisions', { messageId: request.payload.messageId });
    expect(JSON.stringify(decision.body)).toContain('identity-connections is ahead of the connection events');
  });

  it('CON-4, SND-1: an email requested right after a disconnect goes through the location provider although the projection still shows the connection active', async () => {
    const c = connectionSnapshot({ locationId: 'loc_f2', emailAddress: 'sam.f2@acme.example' });
    await h.publish(connected(c));
    answers.set('loc_f2/usr_sam', [{ ...c, status: 'disconnected' }]);
    const { send } = await routeOf('loc_f2');
    expect(send.route).toEqual({ kind: 'location_provider' });
  });

  it('SND-1: when identity-connections cannot answer, routing uses the projection (and logs it) instead of stalling the send', async () => {
    const c = connectionSnapshot({ locationId: 'loc_f3', emailAddress: 'sam.f3@acme.example' });
    await h.publish(connected(c));
    answers.set('loc_f3/usr_sam', 'down');
    const { send } = await routeOf('loc_f3');
    expect(send.route).toMatchObject({ kind: 'mailbox', connectionId: c.connectionId });
  });

  it('CON-4: an ended connection never comes back through an answer that still shows it active', () => {
    const ended = connectionView({ connectionId: 'c-1', status: 'disconnected' });
    const fresh = connectionView({ connectionId: 'c-2', status: 'active' });
    const { connections, changed } = mergeConnections([ended], [{ ...ended, status: 'active' }, fresh]);
    expect(connections.map((c) => [c.connectionId, c.status])).toEqual([
      ['c-1', 'disconnected'],
      ['c-2', 'active'],
    ]);
    expect(changed).toEqual(['c-2 unknown -> active']);
    expect(mergeConnections([ended], null).connections).toEqual([ended]);
  });

  /** A contact's message observed in the mailbox of `c`; resolves with its message.synced (if any) in `loc`. */
  const observeFromJane = async (c: ConnectionSnapshot, providerMessageId: string) => {
    await h.publish(
      observedEvent(
        observedMessage({
          mailboxId: randomUUID(),
          mailboxKey: c.mailboxKey,
          mailboxAddress: c.emailAddress,
          message: {
            providerMessageId,
            providerThreadId: `th-${providerMessageId}`,
            rfcMessageId: `<${providerMessageId}@example.com>`,
            to: [{ address: c.emailAddress }],
          },
        }),
      ),
    );
  };

  it('loss path 4, CON-6: mail observed right after connecting syncs although the connection event has not reached sync-engine yet', async () => {
    const c = connectionSnapshot({ locationId: 'loc_f4', emailAddress: 'sam.f4@acme.example' });
    await h.publish(
      contactUpserted({ locationId: 'loc_f4', contactId: 'ct_jane', email: 'jane@example.com' }),
    );
    answers.set(c.mailboxKey, [c]);
    await observeFromJane(c, 'gm-f4');
    const [synced] = await h.log.waitFor(messageSyncedV1, (p) => p.message.providerMessageId === 'gm-f4');
    expect(synced).toMatchObject({
      locationId: 'loc_f4',
      contactId: 'ct_jane',
      connectionId: c.connectionId,
    });
    expect(asked).toContain(c.mailboxKey);
  });

  it('loss path 4, CON-4: mail observed right after a reconnect syncs although the projection still shows the old connection disconnected', async () => {
    const old = connectionSnapshot({ locationId: 'loc_f5', emailAddress: 'sam.f5@acme.example' });
    await h.publish(
      contactUpserted({ locationId: 'loc_f5', contactId: 'ct_jane', email: 'jane@example.com' }),
      connected(old),
      disconnected(old),
    );
    const fresh = connectionSnapshot({ locationId: 'loc_f5', emailAddress: 'sam.f5@acme.example' });
    answers.set(old.mailboxKey, [{ ...old, status: 'disconnected' }, fresh]);
    await observeFromJane(fresh, 'gm-f5');
    const [synced] = await h.log.waitFor(messageSyncedV1, (p) => p.message.providerMessageId === 'gm-f5');
    expect(synced).toMatchObject({ locationId: 'loc_f5', connectionId: fresh.connectionId });
  });
});
