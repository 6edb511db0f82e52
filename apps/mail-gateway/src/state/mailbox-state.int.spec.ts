import { randomUUID } from 'node:crypto';
import {
  eventCatalog,
  messageDecidedV1,
  messageObservedV1,
  messageStateChangedV1,
  messageStateChangeFailedV1,
  messageStateChangeRequestedV1,
} from '@mailbridge/contracts';
import { expectEventually } from '@mailbridge/testing';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness';

jest.setTimeout(180_000);

const SAM = 'sam@gmail.sandbox.test';
const OLA = 'ola@outlook.sandbox.test';
const ALEX = 'alex@example.com';
const STRANGER = 'stranger@example.net';

/**
 * SYN-7 in mail-gateway, against the sandbox Gmail and Graph, on PostgreSQL and Kafka. The test plays sync-engine
 * (a `message.decided` for each observed message: synced from Alex, not synced from a stranger) and conversations
 * (`message.state-change-requested`). Owner actions go through the sandbox control API, as the user in Gmail/Outlook.
 */
describe('mail-gateway: mailbox state both ways (SYN-7, sandbox Gmail and Graph, Kafka, PostgreSQL)', () => {
  let h: GatewayHarness;
  let decider: NodeJS.Timeout;

  beforeAll(async () => {
    h = await startGatewayHarness({
      sandbox: {
        mailboxes: [
          { provider: 'google', address: SAM, displayName: 'Sam' },
          { provider: 'microsoft', address: OLA, displayName: 'Ola' },
        ],
      },
    });
    await Promise.all([h.connect(SAM, 'google'), h.connect(OLA, 'microsoft')]);
    const seen = new Set<string>();
    decider = setInterval(() => {
      for (const e of h.log.events) {
        if (seen.has(e.id) || !eventCatalog.is(e, messageObservedV1)) continue;
        seen.add(e.id);
        const p = e.payload;
        const stranger = p.message.from?.address === STRANGER;
        void h.publish(
          eventCatalog.create(messageDecidedV1, {
            mailboxKey: p.mailboxKey,
            providerMessageId: p.message.providerMessageId,
            outcome: stranger ? 'not_synced' : 'synced',
            rule: stranger ? 'SYN-3' : 'SYN-2',
            reason: stranger ? 'no_matching_contact' : null,
            conversations: stranger ? 0 : 1,
            decidedAt: new Date().toISOString(),
          }),
        );
      }
    }, 100);
  }, 180_000);
  afterAll(async () => {
    clearInterval(decider);
    await h?.close();
  });

  /** Delivers a message and waits until the ledger holds sync-engine's outcome for it. */
  const deliverDecided = async (to: string, from: string, subject: string) => {
    const { message } = await h.sandbox.control.deliver(to, { from, subject, text: subject });
    await expectEventually(async () => {
      const [row] = await h.query<{ outcome: string }>(
        `SELECT outcome FROM mail_gateway.message_ledger WHERE provider_message_id = $1`,
        [message.id],
      );
      expect(row?.outcome).toEqual(expect.any(String));
    });
    return message.id;
  };
  const statesOf = (id: string) => h.log.of(messageStateChangedV1, (p) => p.providerMessageId === id);
  const waitState = (id: string, count: number) =>
    h.log.waitFor(messageStateChangedV1, (p) => p.providerMessageId === id, count, 60_000);
  const request = (mailboxKey: string, ids: string[], read: boolean) =>
    h.publish(
      eventCatalog.create(messageStateChangeRequestedV1, {
        requestId: randomUUID(),
        locationId: 'loc_1',
        connectionId: null,
        mailboxKey,
        messages: ids.map((providerMessageId) => ({ messageId: randomUUID(), providerMessageId })),
        read,
        requestedAt: new Date().toISOString(),
      }),
    );

  for (const [provider, address] of [
    ['google', SAM],
    ['microsoft', OLA],
  ] as const) {
    it(`SYN-7 ${provider}: read, unread, trash, restore and delete of a synced message are state changes in order; an unsynced message's changes produce nothing`, async () => {
      const synced = await deliverDecided(address, ALEX, `State ${provider}`);
      const privateId = await deliverDecided(address, STRANGER, `Private ${provider}`);
      const control = h.sandbox.control;
      // The unsynced message changes first: by the time the synced one's changes are seen, these were pulled too.
      control.changeMessageState(address, privateId, 'read');
      control.changeMessageState(address, privateId, 'trash');
      control.changeMessageState(address, synced, 'read');
      expect((await waitState(synced, 1))[0]).toMatchObject({
        mailboxKey: `${provider}:${address}`,
        provider,
        state: { read: true, trashed: false, deleted: false },
        changed: ['read'],
      });
      control.changeMessageState(address, synced, 'unread');
      expect((await waitState(synced, 2))[1]).toMatchObject({ state: { read: false }, changed: ['read'] });
      control.changeMessageState(address, synced, 'trash');
      expect((await waitState(synced, 3))[2]).toMatchObject({
        state: { trashed: true },
        changed: ['trashed'],
      });
      control.changeMessageState(address, synced, 'restore');
      expect((await waitState(synced, 4))[3]).toMatchObject({
        state: { trashed: false },
        changed: ['trashed'],
      });
      // Deleted for good (from the Inbox: Gmail "delete forever", Outlook Shift+Delete).
      control.changeMessageState(address, synced, 'delete');
      expect((await waitState(synced, 5))[4]).toMatchObject({
        state: { read: false, trashed: false, deleted: true },
        changed: ['deleted'],
      });
      const events = statesOf(synced);
      expect(events).toHaveLength(5);
      expect(events.map((e) => e.connections[0]?.locationId)).toEqual(Array(5).fill('loc_1'));
      expect(statesOf(privateId)).toEqual([]);
      const [row] = await h.query(
        `SELECT 1 FROM mail_gateway.message_states WHERE provider_message_id = $1`,
        [privateId],
      );
      expect(row).toBeUndefined();
    });

    it(`SYN-7 ${provider}: a CRM read is applied in the mailbox (one call for several on Gmail), its echo is not bounced back, and a message gone is a failed change`, async () => {
      const a = await deliverDecided(address, ALEX, `Crm A ${provider}`);
      const b = await deliverDecided(address, ALEX, `Crm B ${provider}`);
      const gone = await deliverDecided(address, ALEX, `Crm gone ${provider}`);
      const control = h.sandbox.control;
      control.changeMessageState(address, gone, 'delete');
      await waitState(gone, 1);
      const callsBefore = control.modifyCalls(address);
      await request(`${provider}:${address}`, [a, b], true);
      await expectEventually(() => {
        expect([control.messageState(address, a).read, control.messageState(address, b).read]).toEqual([
          true,
          true,
        ]);
      });
      expect(control.modifyCalls(address) - callsBefore).toBe(provider === 'google' ? 1 : 2);
      await request(`${provider}:${address}`, [gone], true);
      const [failed] = await h.log.waitFor(messageStateChangeFailedV1, (p) => p.providerMessageId === gone);
      expect(failed).toMatchObject({ reason: 'message_not_found', read: true, locationId: 'loc_1' });
      // A later change by the user is seen, so the pulls after our change have run: the echo produced nothing.
      const marker = await deliverDecided(address, ALEX, `Marker ${provider}`);
      control.changeMessageState(address, marker, 'read');
      await waitState(marker, 1);
      expect([...statesOf(a), ...statesOf(b)]).toEqual([]);
      // The user then marks one unread in the mailbox: that is a real change, seen once; no call back to the mailbox.
      const callsAfter = control.modifyCalls(address);
      control.changeMessageState(address, a, 'unread');
      expect((await waitState(a, 1))[0]).toMatchObject({ state: { read: false }, changed: ['read'] });
      expect(control.modifyCalls(address)).toBe(callsAfter);
    });
  }
});
