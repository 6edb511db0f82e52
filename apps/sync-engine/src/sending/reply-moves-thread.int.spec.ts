import { randomUUID } from 'node:crypto';
import { eventCatalog, messageSyncedV1, sendFailedV1, sendRequestedV1 } from '@mailbridge/contracts';
import {
  connected,
  connectionSnapshot,
  contactUpserted,
  emailRequested,
  observedEvent,
  observedMessage,
  sendSucceeded,
} from '../testing/events';
import { Harness, startInProcessHarness } from '../testing/harness';

/**
 * SYN-4 retain-on-reply against the order events really arrive in: `send.succeeded` and `message.observed` are
 * different topics, so the contact's answer to the user's reply may be observed before sync-engine records the send
 * result. The thread moves when the reply is routed; a failed reply gives it back. PostgreSQL + in-process bus.
 */
describe('sync-engine: a reply from the CRM moves its thread when routed (SYN-4)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startInProcessHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  /**
   * One mailbox connected in two locations (three with `withC`), the same lead a contact of each; a first message
   * synced to all of them, and the user's reply from location B routed.
   */
  async function sharedThread(tag: string, withC = false) {
    const address = `shared.${tag}@acme.example`;
    const [locA, locB, locC] = [`loc_${tag}_a`, `loc_${tag}_b`, `loc_${tag}_c`];
    const connA = connectionSnapshot({ locationId: locA, emailAddress: address });
    const connB = connectionSnapshot({ locationId: locB, emailAddress: address });
    const connC = connectionSnapshot({ locationId: locC, emailAddress: address });
    const lead = `lead.${tag}@example.com`;
    await h.publish(
      connected(connA),
      connected(connB),
      contactUpserted({ locationId: locA, contactId: 'ct_a', email: lead }),
      contactUpserted({ locationId: locB, contactId: 'ct_b', email: lead }),
      ...(withC
        ? [connected(connC), contactUpserted({ locationId: locC, contactId: 'ct_c', email: lead })]
        : []),
    );
    const mailboxId = randomUUID();
    const thread = `th-${tag}`;
    const inbound = (id: string, over: Record<string, unknown> = {}) =>
      observedEvent(
        observedMessage({
          mailboxId,
          mailboxKey: connA.mailboxKey,
          mailboxAddress: address,
          message: {
            providerMessageId: id,
            providerThreadId: thread,
            rfcMessageId: `<${id}@example.com>`,
            from: { address: lead },
            to: [{ address }],
            ...over,
          },
        }),
      );
    const syncedTo = async (id: string) => {
      await h.drained();
      return h.log
        .of(messageSyncedV1, (p) => p.message.providerMessageId === id)
        .map((p) => p.locationId)
        .sort();
    };
    const first = `gm-${tag}-1`;
    await h.publish(inbound(first));
    await h.log.waitFor(messageSyncedV1, (p) => p.message.providerMessageId === first, withC ? 3 : 2);

    /** The user answers from a location's CRM; sync-engine routes it. */
    const replyFrom = async (locationId: string, contactId: string) => {
      const reply = emailRequested({
        locationId,
        contactId,
        to: [{ address: lead }],
        replyTo: {
          messageId: randomUUID(),
          rfcMessageId: `<${first}@example.com>`,
          references: [],
          provider: 'google',
          providerThreadId: thread,
          subject: 'Hello',
        },
      });
      await h.publish(reply);
      const [routed] = await h.log.waitFor(sendRequestedV1, (p) => p.sendId === reply.payload.messageId);
      return routed;
    };
    const send = await replyFrom(locB, 'ct_b');
    expect(send.route).toMatchObject({ kind: 'mailbox', connectionId: connB.connectionId });
    return { locA, locB, locC, thread, inbound, syncedTo, send, replyFrom };
  }

  const failed = (send: { sendId: string; conversationId: string; route: unknown }, locationId: string) =>
    eventCatalog.create(sendFailedV1, {
      sendId: send.sendId,
      locationId,
      userId: 'usr_sam',
      contactId: 'ct_b',
      conversationId: send.conversationId,
      route: send.route,
      code: 'provider_rejected',
      message: 'rejected',
      failedAt: '2026-11-20T10:00:00.000Z',
    } as never);

  it("SYN-4: the contact's answer observed before the reply's send result reaches only the location the user replied from", async () => {
    const { locA, locB, thread, inbound, syncedTo, send } = await sharedThread('early');

    // mail-gateway sent it and the contact answered; sync-engine has not read the send result yet (a backlog).
    await h.publish(inbound('gm-early-3', { inReplyTo: send.rfcMessageId, references: [send.rfcMessageId] }));
    expect(await syncedTo('gm-early-3')).toEqual([locB]);

    await h.publish(
      sendSucceeded({
        sendId: send.sendId,
        locationId: locB,
        userId: 'usr_sam',
        contactId: 'ct_b',
        conversationId: send.conversationId,
        route: send.route,
        provider: 'google',
        providerMessageId: 'gm-early-2',
        providerThreadId: thread,
        rfcMessageId: send.rfcMessageId,
        sentAt: '2026-11-20T10:00:00.000Z',
      }),
    );
    await h.publish(inbound('gm-early-4', { inReplyTo: '<gm-early-3@example.com>' }));
    expect(await syncedTo('gm-early-4')).toEqual([locB]);
    const bindings = await h.get('/internal/bindings', { locationId: locA }).expect(200);
    expect(bindings.body.items).toEqual([
      expect.objectContaining({ status: 'ended', endReason: 'rebound_elsewhere' }),
    ]);
  });

  it('SYN-4: a reply that fails to go out gives the thread back: the next message reaches both locations again', async () => {
    const { locA, locB, inbound, syncedTo, send } = await sharedThread('failed');
    await h.publish(failed(send, locB));
    await h.publish(inbound('gm-failed-3', { inReplyTo: '<gm-failed-1@example.com>' }));
    expect(await syncedTo('gm-failed-3')).toEqual([locA, locB].sort());
    const bindings = await h.get('/internal/bindings', { locationId: locA }).expect(200);
    expect(bindings.body.items).toEqual([expect.objectContaining({ status: 'active', endReason: null })]);
  });

  it('SYN-4: a failed reply gives nothing back once a later reply from another location moved the thread again', async () => {
    const { locA, locB, locC, inbound, syncedTo, send, replyFrom } = await sharedThread('crossed', true);
    // The user answers again, now from C, before B's reply failed: the thread is C's alone.
    const second = await replyFrom(locC, 'ct_c');
    expect(second.sendId).not.toBe(send.sendId);
    await h.publish(failed(send, locB));
    await h.publish(inbound('gm-crossed-3', { inReplyTo: '<gm-crossed-1@example.com>' }));
    expect(await syncedTo('gm-crossed-3')).toEqual([locC]);
    expect(locA).not.toBe(locC);
  });
});
