import { randomBytes, randomUUID } from 'node:crypto';
import {
  connectionConnectedV1,
  connectionDisconnectedV1,
  eventCatalog,
  messageObservedV1,
  type ConnectionSnapshot,
} from '@mailbridge/contracts';
import { expectEventually } from '@mailbridge/testing';
import { MailboxesRepository } from '../mailboxes/mailboxes.repository';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness';
import { MailboxWatchService } from './mailbox-watch.service';

const GMAIL = 'ana@gmail.sandbox.test';
const OUTLOOK = 'ana@outlook.sandbox.test';
const RECONNECTING = 'bo@gmail.sandbox.test';
const RECONNECTING_OUTLOOK = 'bo@outlook.sandbox.test';
const RACING = 'cy@gmail.sandbox.test';
const ALEX = 'alex@example.com';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Loss path 4 (issue 14): identity-connections commits the connection (and reports "connected" to the user) before
 * mail-gateway has set the mailbox up. The window is made deterministic by holding the connection event back: mail
 * is delivered after the connect instant and only then does the gateway get the event.
 */
describe('mailbox start point: the connect instant, not the setup (loss path 4)', () => {
  let h: GatewayHarness;

  beforeAll(async () => {
    h = await startGatewayHarness({
      sandbox: {
        mailboxes: [
          { provider: 'google', address: GMAIL, displayName: 'Ana' },
          { provider: 'microsoft', address: OUTLOOK, displayName: 'Ana' },
          { provider: 'google', address: RECONNECTING, displayName: 'Bo' },
          { provider: 'microsoft', address: RECONNECTING_OUTLOOK, displayName: 'Bo' },
          { provider: 'google', address: RACING, displayName: 'Cy' },
        ],
      },
    });
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  const observedOf = (id: string) => h.log.of(messageObservedV1, (p) => p.message.providerMessageId === id);
  const waitObserved = (id: string) =>
    h.log.waitFor(messageObservedV1, (p) => p.message.providerMessageId === id, 1, 30_000);

  /** What identity-connections commits when the OAuth callback succeeds (before it redirects with `connected`). */
  const committedConnection = (address: string, provider: 'google' | 'microsoft'): ConnectionSnapshot => {
    const connection: ConnectionSnapshot = {
      connectionId: randomUUID(),
      locationId: 'loc_1',
      userId: `usr_${randomBytes(3).toString('hex')}`,
      provider,
      emailAddress: address,
      mailboxKey: `${provider}:${address}`,
      syncScope: provider === 'google' ? 'contact_mail' : 'crm_threads',
      status: 'active',
      connectedAt: new Date().toISOString(),
    };
    h.identity.connections.set(connection.connectionId, { address, provider });
    return connection;
  };

  /** The held-back connection event reaches mail-gateway; resolves once the mailbox is set up. */
  const release = async (connection: ConnectionSnapshot) => {
    await h.publish(eventCatalog.create(connectionConnectedV1, { connection }));
    await expectEventually(
      async () => {
        const mailbox = await h.mailbox(connection.emailAddress, connection.provider);
        expect(mailbox?.stage).toBe('watching');
        // …and its first pull (the catch-up from the start point) is done.
        expect(mailbox?.recovery).toBeNull();
        expect(mailbox?.pull_requested_at).toBeNull();
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  };

  /** Mail that arrives right after "connected", in Inbox and in Sent, all before mail-gateway knows of it. */
  const arriveRightAfter = async (address: string, label: string) => {
    const inbound = await h.sandbox.control.deliver(address, {
      from: ALEX,
      to: [address],
      subject: `Right after connecting (${label})`,
      text: 'hi',
    });
    const sent = await h.sandbox.control.send(address, {
      to: [ALEX],
      subject: `Sent right after connecting (${label})`,
      text: 'hello',
    });
    return [inbound.message.id, sent.message.id];
  };

  it('loss path 4: mail arriving right after connecting syncs (CON-6, Gmail)', async () => {
    const before = await h.sandbox.control.deliver(GMAIL, {
      from: ALEX,
      subject: 'Before connecting',
      text: 'x',
    });
    await sleep(5);
    const connection = committedConnection(GMAIL, 'google');
    const early = await arriveRightAfter(GMAIL, 'gmail');

    await release(connection);
    for (const id of early) await waitObserved(id);

    // The normal pull goes on from there, and nothing is observed twice or from before the connect instant.
    const later = await h.sandbox.control.deliver(GMAIL, { from: ALEX, subject: 'Later', text: 'y' });
    await waitObserved(later.message.id);
    for (const id of [...early, later.message.id]) expect(observedOf(id)).toHaveLength(1);
    expect(observedOf(before.message.id)).toHaveLength(0);
  });

  it('loss path 4: mail arriving right after connecting syncs (CON-6, Microsoft Graph)', async () => {
    const before = await h.sandbox.control.deliver(OUTLOOK, {
      from: ALEX,
      subject: 'Before connecting',
      text: 'x',
    });
    // Graph's receivedDateTime has whole seconds: the start point is the connect instant to that precision. Connect
    // early in the next second, so the mail right after it shares the connect instant's second.
    await sleep(1_050 - (Date.now() % 1_000));
    const connection = committedConnection(OUTLOOK, 'microsoft');
    const early = await arriveRightAfter(OUTLOOK, 'graph');

    await release(connection);
    for (const id of early) await waitObserved(id);

    const later = await h.sandbox.control.deliver(OUTLOOK, { from: ALEX, subject: 'Later', text: 'y' });
    await waitObserved(later.message.id);
    for (const id of [...early, later.message.id]) expect(observedOf(id)).toHaveLength(1);
    expect(observedOf(before.message.id)).toHaveLength(0);
  });

  it.each([
    ['Gmail', 'google', RECONNECTING],
    ['Microsoft Graph', 'microsoft', RECONNECTING_OUTLOOK],
  ] as const)(
    'loss path 4: mail arriving right after reconnecting syncs (CON-4, CON-6, %s)',
    async (_, provider, address) => {
      const first = committedConnection(address, provider);
      await release(first);
      await h.publish(
        eventCatalog.create(connectionDisconnectedV1, {
          connection: { ...first, status: 'disconnected' },
          disconnectedAt: new Date().toISOString(),
        }),
      );
      await expectEventually(
        async () => expect((await h.mailbox(address, provider))?.stage).toBe('stopped'),
        {
          timeoutMs: 30_000,
          intervalMs: 100,
        },
      );
      const whileDisconnected = await h.sandbox.control.deliver(address, {
        from: ALEX,
        subject: 'While disconnected',
        text: 'x',
      });
      // In an earlier second than the reconnect, early in its second (Graph's receivedDateTime has whole seconds).
      await sleep(1_050 - (Date.now() % 1_000));
      const again = committedConnection(address, provider);
      const early = await arriveRightAfter(address, `${provider} reconnect`);

      await release(again);
      for (const id of early) await waitObserved(id);
      for (const id of early) expect(observedOf(id)).toHaveLength(1);
      expect(observedOf(whileDisconnected.message.id)).toHaveLength(0);
    },
  );

  it('loss path 4: a connection that becomes active while its mailbox is being stopped starts from when it did (CON-4, CON-6, Gmail)', async () => {
    const connection = committedConnection(RACING, 'google');
    await release(connection);
    // No push: the message stays unpulled, as it would with the watch already removed by the stop in progress.
    h.sandbox.control.setNotificationBehaviour('google', { drop: true });
    try {
      const early = await arriveRightAfter(RACING, 'gmail stop race');
      // The stop began (the processor read the mailbox as unwanted) before this connection's event was applied;
      // it finishes now, with the connection active.
      const mailbox = await h.gateway.app
        .get(MailboxesRepository)
        .findById(String((await h.mailbox(RACING, 'google'))?.id));
      await h.gateway.app.get(MailboxWatchService).stop(mailbox!);
      for (const id of early) await waitObserved(id);
      for (const id of early) expect(observedOf(id)).toHaveLength(1);
    } finally {
      h.sandbox.control.setNotificationBehaviour('google', { drop: false });
    }
  });
});
