import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import type { RetentionPruner } from '@mailbridge/platform-persistence';
import { RETENTION_PRUNER } from '@mailbridge/platform-runtime';
import {
  contactCreateRequestedV1,
  conversationIdFor,
  eventCatalog,
  messageSkippedV1,
  messageSyncedV1,
  sendFailedV1,
  sendRefusedV1,
  sendRequestedV1,
} from '@mailbridge/contracts';
import { expectEventually } from '@mailbridge/testing';
import { attachment, MB } from './testing/builders';
import {
  connected,
  connectionSnapshot,
  contactUpserted,
  disconnected,
  emailRequested,
  observedEvent,
  observedMessage,
  sendSucceeded,
  updated,
} from './testing/events';
import { Harness, startInProcessHarness } from './testing/harness';
import { bccContactIdFor } from './decisions/ids';

/**
 * sync-engine as the other services see it: real PostgreSQL, the in-process bus, events published the way
 * identity-connections, conversations and mail-gateway publish them, and what sync-engine publishes checked.
 * Each test uses its own mailbox and location so they do not interfere.
 */
describe('sync-engine sync rules (PostgreSQL + in-process bus)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startInProcessHarness({ ATTACHMENT_POLICY_STRIP_LOCATIONS: 'loc_strip' });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A user with a connected mailbox and a contact in a location. */
  async function setUp(
    loc: string,
    over: {
      address?: string;
      provider?: 'google' | 'microsoft';
      syncScope?: 'contact_mail' | 'crm_threads';
    } = {},
  ) {
    const address = over.address ?? `sam.${loc}@acme.example`;
    const connection = connectionSnapshot({
      locationId: loc,
      emailAddress: address,
      provider: over.provider ?? 'google',
      ...(over.syncScope ? { syncScope: over.syncScope } : {}),
    });
    await h.publish(
      connected(connection),
      contactUpserted({ locationId: loc, contactId: 'ct_jane', email: 'Jane@Example.com' }),
    );
    const mailboxId = randomUUID();
    const observe = (over2: Parameters<typeof observedMessage>[0] = {}) =>
      observedEvent(
        observedMessage({
          mailboxId,
          mailboxKey: connection.mailboxKey,
          mailboxAddress: address,
          ...over2,
          message: {
            provider: connection.provider,
            to: [{ address }],
            ...over2.message,
          },
        }),
      );
    return { connection, address, mailboxId, observe, conversationId: conversationIdFor(loc, 'ct_jane') };
  }

  it('SYN-1, SND-1, SYN-5, SYN-2, SND-5, SND-6: a CRM email binds its thread, its Sent copy is not a second entry, replies sync both ways', async () => {
    const { connection, address, observe, conversationId } = await setUp('loc_flow');

    // SND-1: an individual email through the user's mailbox; SND-6: a repeated request yields one send.
    const request = emailRequested({ locationId: 'loc_flow' });
    const repeat = { ...emailRequested({ locationId: 'loc_flow' }), payload: request.payload };
    await h.publish(request, repeat);
    const [send] = await h.log.waitFor(sendRequestedV1, (p) => p.sendId === request.payload.messageId);
    expect(send.route).toEqual({
      kind: 'mailbox',
      connectionId: connection.connectionId,
      provider: 'google',
      mailboxKey: connection.mailboxKey,
      fromAddress: address,
    });
    expect(send.rfcMessageId).toBe(`<mb.${request.payload.messageId}@acme.example>`);

    // mail-gateway sent it; the Sent copy shows up in the mailbox.
    await h.publish(
      sendSucceeded({
        sendId: send.sendId,
        locationId: 'loc_flow',
        userId: 'usr_sam',
        contactId: 'ct_jane',
        conversationId,
        route: send.route,
        provider: 'google',
        providerMessageId: 'gm-sent-1',
        providerThreadId: 'th-flow',
        rfcMessageId: send.rfcMessageId,
        sentAt: '2026-11-20T09:00:01.000Z',
      }),
      observe({
        direction: 'outbound',
        inSent: true,
        labels: ['SENT'],
        message: {
          providerMessageId: 'gm-sent-1',
          providerThreadId: 'th-flow',
          rfcMessageId: send.rfcMessageId,
          from: { address },
          to: [{ address: 'jane@example.com' }],
          mailbridgeRef: send.sendId,
        },
      }),
    );
    const [copy] = await h.log.waitFor(messageSyncedV1, (p) => p.message.providerMessageId === 'gm-sent-1');
    expect(copy).toMatchObject({
      deliveryId: send.sendId,
      crmMessageId: send.sendId,
      rule: 'SYN-5',
      conversationId,
    });

    // SYN-2: the contact's reply (thread id + In-Reply-To) lands in the conversation; a push+poll double does not.
    const reply = observe({
      message: {
        providerMessageId: 'gm-reply-1',
        providerThreadId: 'th-flow',
        rfcMessageId: '<reply-1@example.com>',
        inReplyTo: send.rfcMessageId,
        references: [send.rfcMessageId],
        from: { name: 'Jane', address: 'jane@example.com' },
      },
    });
    await h.publish(reply, { ...observe(), payload: reply.payload });
    await h.drained();
    const replies = h.log.of(messageSyncedV1, (p) => p.message.providerMessageId === 'gm-reply-1');
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({
      conversationId,
      direction: 'inbound',
      rule: 'SYN-2',
      connectionId: connection.connectionId,
    });

    // SYN-2 outbound: the user answers from Gmail in the same thread.
    await h.publish(
      observe({
        direction: 'outbound',
        inSent: true,
        message: {
          providerMessageId: 'gm-user-2',
          providerThreadId: 'th-flow',
          rfcMessageId: '<user-2@acme.example>',
          inReplyTo: '<reply-1@example.com>',
          from: { address },
          to: [{ address: 'jane@example.com' }],
        },
      }),
    );
    await h.log.waitFor(
      messageSyncedV1,
      (p) => p.message.providerMessageId === 'gm-user-2' && p.direction === 'outbound' && p.rule === 'SYN-2',
    );

    // SND-5: a CRM reply to the contact's message goes into the same provider thread.
    const crmReply = emailRequested({
      locationId: 'loc_flow',
      replyTo: {
        messageId: randomUUID(),
        rfcMessageId: '<reply-1@example.com>',
        references: [send.rfcMessageId],
        provider: 'google',
        providerThreadId: 'th-flow',
        subject: 'Re: Your quote',
      },
    });
    await h.publish(crmReply);
    const [threaded] = await h.log.waitFor(sendRequestedV1, (p) => p.sendId === crmReply.payload.messageId);
    expect(threaded).toMatchObject({
      replyInProviderThreadId: 'th-flow',
      replyToProviderMessageId: 'gm-reply-1',
      inReplyTo: '<reply-1@example.com>',
      references: [send.rfcMessageId, '<reply-1@example.com>'],
    });

    // Explainability: why the reply was delivered, and how the send was routed.
    const why = await h.get('/internal/decisions', { messageId: 'gm-reply-1' }).expect(200);
    expect(why.body.messages).toEqual([
      expect.objectContaining({ outcome: 'delivered', rules: expect.arrayContaining(['SYN-2']), repeats: 1 }),
    ]);
    expect(why.body.messages[0].trace.join('\n')).toContain('thread found by thread_id');
    const sendWhy = await h.get('/internal/decisions', { messageId: send.sendId }).expect(200);
    expect(sendWhy.body.sends).toEqual([
      expect.objectContaining({ status: 'succeeded', rule: 'SND-1', rfcMessageId: send.rfcMessageId }),
    ]);
  });

  it('CON-4: after disconnect, a reply in a thread synced before is skipped with its reason', async () => {
    const { connection, observe, conversationId } = await setUp('loc_disc');
    const first = observe({
      message: { providerMessageId: 'gm-d1', providerThreadId: 'th-d', rfcMessageId: '<d1@example.com>' },
    });
    await h.publish(first);
    await h.log.waitFor(
      messageSyncedV1,
      (p) => p.message.providerMessageId === 'gm-d1' && p.conversationId === conversationId,
    );

    await h.publish(disconnected(connection));
    await h.publish(
      observe({
        message: {
          providerMessageId: 'gm-d2',
          providerThreadId: 'th-d',
          rfcMessageId: '<d2@example.com>',
          inReplyTo: '<d1@example.com>',
        },
      }),
    );
    const [skipped] = await h.log.waitFor(messageSkippedV1, (p) => p.providerMessageId === 'gm-d2');
    expect(skipped).toMatchObject({
      locationId: 'loc_disc',
      contactId: 'ct_jane',
      reason: 'connection_disconnected',
      rule: 'CON-4',
    });
    expect(h.log.of(messageSyncedV1, (p) => p.message.providerMessageId === 'gm-d2')).toEqual([]);

    // Reconnecting the same mailbox does not bring the thread back.
    await h.publish(connected({ ...connection, connectionId: randomUUID(), status: 'active' }));
    await h.publish(
      observe({
        message: { providerMessageId: 'gm-d3', providerThreadId: 'th-d', rfcMessageId: '<d3@example.com>' },
      }),
    );
    await h.log.waitFor(
      messageSkippedV1,
      (p) => p.providerMessageId === 'gm-d3' && p.reason === 'connection_disconnected',
    );
    await h.drained();
    expect(h.log.of(messageSyncedV1, (p) => p.message.providerMessageId === 'gm-d3')).toEqual([]);
  });

  it('CON-3: after update email, new CRM mail goes through the new mailbox and a reply in an old thread is skipped', async () => {
    const { connection, observe, conversationId } = await setUp('loc_upd');
    const request = emailRequested({ locationId: 'loc_upd' });
    await h.publish(request);
    const [send] = await h.log.waitFor(sendRequestedV1, (p) => p.sendId === request.payload.messageId);

    const replacement = connectionSnapshot({ locationId: 'loc_upd', emailAddress: 'sam.new@acme.example' });
    await h.publish(updated(replacement, connection.connectionId));
    await h.publish(
      observe({
        message: {
          providerMessageId: 'gm-u1',
          providerThreadId: 'th-u',
          rfcMessageId: '<u1@example.com>',
          inReplyTo: send.rfcMessageId,
        },
      }),
    );
    const [skipped] = await h.log.waitFor(messageSkippedV1, (p) => p.providerMessageId === 'gm-u1');
    expect(skipped).toMatchObject({ reason: 'connection_replaced', rule: 'CON-3', locationId: 'loc_upd' });
    expect(
      h.log.of(
        messageSyncedV1,
        (p) => p.conversationId === conversationId && p.message.providerMessageId === 'gm-u1',
      ),
    ).toEqual([]);

    const next = emailRequested({ locationId: 'loc_upd' });
    await h.publish(next);
    const [rerouted] = await h.log.waitFor(sendRequestedV1, (p) => p.sendId === next.payload.messageId);
    expect(rerouted.route).toMatchObject({
      kind: 'mailbox',
      connectionId: replacement.connectionId,
      fromAddress: 'sam.new@acme.example',
    });
  });

  it('SYN-4: inbound from a contact of locations A and B goes to both; after the user replies from B, the next one only to B', async () => {
    const address = 'shared.mailbox@acme.example';
    const connA = connectionSnapshot({ locationId: 'loc_ma', emailAddress: address });
    const connB = connectionSnapshot({ locationId: 'loc_mb', emailAddress: address });
    await h.publish(
      connected(connA),
      connected(connB),
      contactUpserted({ locationId: 'loc_ma', contactId: 'ct_a', email: 'lead@example.com' }),
      contactUpserted({ locationId: 'loc_mb', contactId: 'ct_b', email: 'lead@example.com' }),
    );
    const mailboxId = randomUUID();
    const inbound = (id: string, over: Record<string, unknown> = {}) =>
      observedEvent(
        observedMessage({
          mailboxId,
          mailboxKey: connA.mailboxKey,
          mailboxAddress: address,
          message: {
            providerMessageId: id,
            providerThreadId: 'th-multi',
            rfcMessageId: `<${id}@example.com>`,
            from: { address: 'lead@example.com' },
            to: [{ address }],
            ...over,
          },
        }),
      );
    await h.publish(inbound('gm-m1'));
    const first = await h.log.waitFor(messageSyncedV1, (p) => p.message.providerMessageId === 'gm-m1', 2);
    expect(first.map((p) => [p.locationId, p.contactId, p.rule]).sort()).toEqual([
      ['loc_ma', 'ct_a', 'SYN-4'],
      ['loc_mb', 'ct_b', 'SYN-4'],
    ]);

    // The user replies from location B's CRM.
    const reply = emailRequested({
      locationId: 'loc_mb',
      contactId: 'ct_b',
      to: [{ address: 'lead@example.com' }],
      replyTo: {
        messageId: randomUUID(),
        rfcMessageId: '<gm-m1@example.com>',
        references: [],
        provider: 'google',
        providerThreadId: 'th-multi',
        subject: 'Hello',
      },
    });
    await h.publish(reply);
    const [send] = await h.log.waitFor(sendRequestedV1, (p) => p.sendId === reply.payload.messageId);
    expect(send.route).toMatchObject({ kind: 'mailbox', connectionId: connB.connectionId });
    expect(send.replyInProviderThreadId).toBe('th-multi');
    await h.publish(
      sendSucceeded({
        sendId: send.sendId,
        locationId: 'loc_mb',
        userId: 'usr_sam',
        contactId: 'ct_b',
        conversationId: send.conversationId,
        route: send.route,
        provider: 'google',
        providerMessageId: 'gm-m2',
        providerThreadId: 'th-multi',
        rfcMessageId: send.rfcMessageId,
        sentAt: '2026-11-20T10:00:00.000Z',
      }),
    );

    await h.publish(inbound('gm-m3', { inReplyTo: send.rfcMessageId }));
    await h.log.waitFor(messageSyncedV1, (p) => p.message.providerMessageId === 'gm-m3');
    await h.drained();
    expect(
      h.log.of(messageSyncedV1, (p) => p.message.providerMessageId === 'gm-m3').map((p) => p.locationId),
    ).toEqual(['loc_mb']);
    const bindings = await h.get('/internal/bindings', { locationId: 'loc_ma' }).expect(200);
    expect(bindings.body.items).toEqual([
      expect.objectContaining({ status: 'ended', endReason: 'rebound_elsewhere' }),
    ]);
  });

  it('SYN-6: a reply observed before the message that binds its thread is synced once the thread is bound', async () => {
    const { observe, conversationId, address } = await setUp('loc_order');
    // A colleague's reply-all (not a contact) arrives first: on its own it is private mail.
    await h.publish(
      observe({
        message: {
          providerMessageId: 'gm-o2',
          providerThreadId: 'th-order',
          rfcMessageId: '<o2@partner.example>',
          inReplyTo: '<o1@example.com>',
          references: ['<o1@example.com>'],
          from: { address: 'colleague@partner.example' },
          to: [{ address }, { address: 'jane@example.com' }],
          sentAt: '2026-11-20T09:05:00.000Z',
        },
      }),
    );
    await h.drained();
    expect(h.log.of(messageSyncedV1, (p) => p.message.providerMessageId === 'gm-o2')).toEqual([]);

    // Then the contact's message that started the thread.
    await h.publish(
      observe({
        message: {
          providerMessageId: 'gm-o1',
          providerThreadId: 'th-order',
          rfcMessageId: '<o1@example.com>',
          sentAt: '2026-11-20T09:00:00.000Z',
        },
      }),
    );
    const synced = await h.log.waitFor(
      messageSyncedV1,
      (p) => p.conversationId === conversationId && p.message.providerMessageId.startsWith('gm-o'),
      2,
    );
    expect(synced.map((p) => [p.message.providerMessageId, p.message.sentAt]).sort()).toEqual([
      ['gm-o1', '2026-11-20T09:00:00.000Z'],
      ['gm-o2', '2026-11-20T09:05:00.000Z'],
    ]);
    const why = await h.get('/internal/decisions', { messageId: 'gm-o2' }).expect(200);
    expect(why.body.messages[0]).toMatchObject({ outcome: 'delivered' });
    expect(why.body.messages[0].trace.join('\n')).toMatch(
      /SYN-3.*no_matching_contact[\s\S]*SYN-6: decided again/,
    );
  });

  it('SYN-6: a message parked longer than PARKED_MESSAGE_RETENTION_HOURS stays private when its thread is bound later, and is deleted', async () => {
    const { observe, conversationId, address } = await setUp('loc_order_late');
    const db = h.service.app.get(DataSource);
    await h.publish(
      observe({
        message: {
          providerMessageId: 'gm-l2',
          providerThreadId: 'th-order-late',
          rfcMessageId: '<l2@partner.example>',
          inReplyTo: '<l1@example.com>',
          references: ['<l1@example.com>'],
          from: { address: 'colleague@partner.example' },
          to: [{ address }, { address: 'jane@example.com' }],
          sentAt: '2026-11-20T09:05:00.000Z',
        },
      }),
    );
    await h.drained();
    // Parked 73 hours ago: past the default 72.
    await db.query(
      `UPDATE sync_engine.parked_message SET parked_at = now() - interval '73 hours' WHERE provider_message_id = 'gm-l2'`,
    );
    await h.publish(
      observe({
        message: {
          providerMessageId: 'gm-l1',
          providerThreadId: 'th-order-late',
          rfcMessageId: '<l1@example.com>',
          sentAt: '2026-11-20T09:00:00.000Z',
        },
      }),
    );
    await h.log.waitFor(messageSyncedV1, (p) => p.message.providerMessageId === 'gm-l1');
    await h.drained();
    expect(
      h.log.of(
        messageSyncedV1,
        (p) => p.conversationId === conversationId && p.message.providerMessageId === 'gm-l2',
      ),
    ).toEqual([]);
    // The retention job deletes what can no longer be decided again.
    await h.service.app.get<RetentionPruner>(RETENTION_PRUNER).pruneOnce();
    expect(
      await db.query(
        `SELECT provider_message_id FROM sync_engine.parked_message WHERE provider_message_id = 'gm-l2'`,
      ),
    ).toEqual([]);
  });

  it('ATT-1: an Outlook message with a 4 MB attachment is skipped and the CRM told; policy strip keeps the message', async () => {
    const outlook = await setUp('loc_att', { provider: 'microsoft', syncScope: 'contact_mail' });
    const big = attachment({ filename: 'site.zip', detectedKind: 'zip', size: 4 * MB });
    await h.publish(outlook.observe({ message: { providerMessageId: 'ms-big', attachments: [big] } }));
    const [skipped] = await h.log.waitFor(messageSkippedV1, (p) => p.providerMessageId === 'ms-big');
    expect(skipped).toMatchObject({
      reason: 'attachment_too_large',
      rule: 'ATT-1',
      contactId: 'ct_jane',
      locationId: 'loc_att',
    });

    const strip = await setUp('loc_strip', { provider: 'microsoft', syncScope: 'contact_mail' });
    await h.publish(
      strip.observe({
        message: { providerMessageId: 'ms-big-2', rfcMessageId: '<big2@example.com>', attachments: [big] },
      }),
    );
    const [synced] = await h.log.waitFor(messageSyncedV1, (p) => p.message.providerMessageId === 'ms-big-2');
    expect(synced.message.attachments[0]).toMatchObject({
      filename: 'site.zip',
      omittedReason: 'attachment_too_large',
    });
    expect(synced.message.attachments[0].objectKey).toBeUndefined();
  });

  it('ATT-1, ATT-2, SND-3: a CRM send is refused before anything is sent when an attachment breaks the rules', async () => {
    await setUp('loc_out', { provider: 'microsoft' });
    const tooBig = emailRequested({
      locationId: 'loc_out',
      attachments: [attachment({ filename: 'plans.pdf', size: 4 * MB })],
    });
    const exe = emailRequested({
      locationId: 'loc_out',
      kind: 'workflow',
      attachments: [attachment({ filename: 'setup.pdf', detectedKind: 'unknown' })],
    });
    await h.publish(tooBig, exe);
    const [big] = await h.log.waitFor(sendRefusedV1, (p) => p.sendId === tooBig.payload.messageId);
    expect(big).toMatchObject({
      code: 'attachment_too_large',
      route: { kind: 'mailbox', provider: 'microsoft' },
    });
    expect(big.message).toContain('plans.pdf');
    const [bad] = await h.log.waitFor(sendRefusedV1, (p) => p.sendId === exe.payload.messageId);
    expect(bad).toMatchObject({ code: 'attachment_type_unsupported', route: { kind: 'location_provider' } });
    await h.drained();
    expect(
      h.log.of(
        sendRequestedV1,
        (p) => p.sendId === tooBig.payload.messageId || p.sendId === exe.payload.messageId,
      ),
    ).toEqual([]);
  });

  it('BCC-1: a smart-BCC copy creates the recipient contact, is recorded once, and binds the thread in the user’s mailbox', async () => {
    const { address, observe } = await setUp('loc_bcc');
    const bccAddress = 'loc-bcc.usr-sam@bcc.example';
    const rfc = '<bcc-1@acme.example>';
    await h.publish(
      observedEvent(
        observedMessage({
          mailboxId: randomUUID(),
          mailboxKey: `smart_bcc:${bccAddress}`,
          mailboxAddress: bccAddress,
          source: 'smart_bcc',
          direction: 'outbound',
          smartBcc: { locationId: 'loc_bcc', userId: 'usr_sam' },
          message: {
            providerMessageId: 'bcc-store-1',
            providerThreadId: null,
            rfcMessageId: rfc,
            from: { address },
            to: [{ name: 'New Lead', address: 'new.lead@example.org' }],
            bcc: [{ address: bccAddress }],
          },
        }),
      ),
    );
    const contactId = bccContactIdFor('loc_bcc', 'new.lead@example.org');
    const [requested] = await h.log.waitFor(contactCreateRequestedV1, (p) => p.locationId === 'loc_bcc');
    expect(requested).toMatchObject({
      contactId,
      email: 'new.lead@example.org',
      assignedUserId: 'usr_sam',
      name: 'New Lead',
    });
    const [synced] = await h.log.waitFor(
      messageSyncedV1,
      (p) => p.message.providerMessageId === 'bcc-store-1',
    );
    expect(synced).toMatchObject({
      contactId,
      conversationId: conversationIdFor('loc_bcc', contactId),
      rule: 'BCC-1',
      source: 'smart_bcc',
    });
    expect(synced.message.bcc).toEqual([]);

    // The same message in the user's Sent folder: same conversation, same delivery id, smart-BCC hidden.
    await h.publish(
      observe({
        direction: 'outbound',
        inSent: true,
        message: {
          providerMessageId: 'gm-bcc-sent',
          providerThreadId: 'th-bcc',
          rfcMessageId: rfc,
          from: { address },
          to: [{ address: 'new.lead@example.org' }],
          bcc: [{ address: bccAddress }],
        },
      }),
    );
    const [copy] = await h.log.waitFor(messageSyncedV1, (p) => p.message.providerMessageId === 'gm-bcc-sent');
    expect(copy).toMatchObject({
      deliveryId: synced.deliveryId,
      conversationId: synced.conversationId,
      rule: 'SYN-2',
    });
    expect(copy.message.bcc).toEqual([]);

    // The lead's reply in the Gmail thread syncs (the thread became synced, BCC-1).
    await h.publish(
      observe({
        message: {
          providerMessageId: 'gm-bcc-reply',
          providerThreadId: 'th-bcc',
          rfcMessageId: '<r@example.org>',
          from: { address: 'new.lead@example.org' },
        },
      }),
    );
    const [reply] = await h.log.waitFor(
      messageSyncedV1,
      (p) => p.message.providerMessageId === 'gm-bcc-reply',
    );
    expect(reply.conversationId).toBe(synced.conversationId);
  });

  it('loss path 5 / SYN-5: a foreign message reusing a recorded Message-ID, from another sender, in the same and in another location, is recorded in its own conversation', async () => {
    // One mailbox connected in two locations (SYN-4); a broken mailer gives every message the same Message-ID.
    const address = 'reuse.mailbox@acme.example';
    const connA = connectionSnapshot({ locationId: 'loc_reuse_a', emailAddress: address });
    const connB = connectionSnapshot({ locationId: 'loc_reuse_b', emailAddress: address });
    await h.publish(
      connected(connA),
      connected(connB),
      contactUpserted({ locationId: 'loc_reuse_a', contactId: 'ct_jane', email: 'jane@example.com' }),
      contactUpserted({ locationId: 'loc_reuse_a', contactId: 'ct_bob', email: 'bob@example.com' }),
      contactUpserted({ locationId: 'loc_reuse_b', contactId: 'ct_carol', email: 'carol@example.com' }),
    );
    const reused = '<xxxx@broken-mailer.example>';
    const mailboxId = randomUUID();
    const inbound = (id: string, from: string, subject: string, sentAt: string) =>
      observedEvent(
        observedMessage({
          mailboxId,
          mailboxKey: connA.mailboxKey,
          mailboxAddress: address,
          message: {
            providerMessageId: id,
            providerThreadId: `th-${id}`,
            rfcMessageId: reused,
            from: { address: from },
            to: [{ address }],
            subject,
            sentAt,
            receivedAt: sentAt,
          },
        }),
      );
    await h.publish(inbound('gm-jane', 'jane@example.com', 'Quote', '2026-11-20T09:00:00.000Z'));
    const [jane] = await h.log.waitFor(messageSyncedV1, (p) => p.message.providerMessageId === 'gm-jane');
    expect([jane.locationId, jane.contactId]).toEqual(['loc_reuse_a', 'ct_jane']);

    await h.publish(
      inbound('gm-bob', 'bob@example.com', 'Order 42', '2026-11-21T08:00:00.000Z'),
      inbound('gm-carol', 'carol@example.com', 'Invoice', '2026-11-21T09:00:00.000Z'),
    );
    const [bob] = await h.log.waitFor(messageSyncedV1, (p) => p.message.providerMessageId === 'gm-bob');
    const [carol] = await h.log.waitFor(messageSyncedV1, (p) => p.message.providerMessageId === 'gm-carol');
    await h.drained();
    // Each in its own conversation, none in Jane's, each with its own delivery id.
    expect([bob.locationId, bob.contactId, bob.conversationId]).toEqual([
      'loc_reuse_a',
      'ct_bob',
      conversationIdFor('loc_reuse_a', 'ct_bob'),
    ]);
    expect([carol.locationId, carol.contactId]).toEqual(['loc_reuse_b', 'ct_carol']);
    expect(
      h.log.of(messageSyncedV1, (p) => p.conversationId === jane.conversationId).map((p) => p.deliveryId),
    ).toEqual([jane.deliveryId]);
    expect(new Set([jane.deliveryId, bob.deliveryId, carol.deliveryId]).size).toBe(3);

    // Counted: two messages kept apart from the one that had the Message-ID first.
    const metrics = await request(h.service.app.getHttpServer()).get('/metrics');
    expect(metrics.text).toMatch(/sync_engine_message_id_collisions_total\S* 2\b/);

    // Threading by In-Reply-To stays: Jane's reply from a client that broke the provider thread names only the reused
    // id; of the three threads carrying it, it goes to the one whose contact takes part (Jane's).
    await h.publish(
      observedEvent(
        observedMessage({
          mailboxId,
          mailboxKey: connA.mailboxKey,
          mailboxAddress: address,
          message: {
            providerMessageId: 'gm-jane-reply',
            providerThreadId: 'th-new-thread',
            rfcMessageId: '<jane-reply@example.com>',
            inReplyTo: reused,
            references: [reused],
            from: { address: 'jane@example.com' },
            to: [{ address }],
            subject: 'Re: Quote',
          },
        }),
      ),
    );
    const [reply] = await h.log.waitFor(
      messageSyncedV1,
      (p) => p.message.providerMessageId === 'gm-jane-reply',
    );
    await h.drained();
    expect(reply.conversationId).toBe(jane.conversationId);
    expect(h.log.of(messageSyncedV1, (p) => p.message.providerMessageId === 'gm-jane-reply')).toHaveLength(1);
  });

  it('loss path 5 / SYN-5: the same email in two mailboxes of one location (a reply-all to two users) is recorded once', async () => {
    const sam = connectionSnapshot({ locationId: 'loc_dup', emailAddress: 'sam.dup@acme.example' });
    const lee = connectionSnapshot({
      locationId: 'loc_dup',
      userId: 'usr_lee',
      emailAddress: 'lee.dup@acme.example',
    });
    await h.publish(
      connected(sam),
      connected(lee),
      contactUpserted({ locationId: 'loc_dup', contactId: 'ct_jane', email: 'jane@example.com' }),
    );
    // Lee writes to Jane from the CRM (binds Lee's thread); Jane answers all, Sam (her assignee) included.
    const request = emailRequested({ locationId: 'loc_dup', userId: 'usr_lee' });
    await h.publish(request);
    const [send] = await h.log.waitFor(sendRequestedV1, (p) => p.sendId === request.payload.messageId);
    expect(send.route).toMatchObject({ kind: 'mailbox', connectionId: lee.connectionId });
    const copyIn = (conn: typeof sam, providerMessageId: string) =>
      observedEvent(
        observedMessage({
          mailboxId: randomUUID(),
          mailboxKey: conn.mailboxKey,
          mailboxAddress: conn.emailAddress,
          message: {
            providerMessageId,
            providerThreadId: `th-${providerMessageId}`,
            rfcMessageId: '<jane-all@example.com>',
            inReplyTo: send.rfcMessageId,
            references: [send.rfcMessageId],
            from: { address: 'jane@example.com' },
            to: [{ address: lee.emailAddress }],
            cc: [{ address: sam.emailAddress }],
            subject: 'Re: Your quote',
          },
        }),
      );
    await h.publish(copyIn(lee, 'gm-lee-copy'), copyIn(sam, 'gm-sam-copy'));
    const copies = await h.log.waitFor(
      messageSyncedV1,
      (p) => p.message.rfcMessageId === '<jane-all@example.com>',
      2,
    );
    expect(copies.map((p) => p.conversationId)).toEqual([send.conversationId, send.conversationId]);
    // One delivery id: conversations records it once.
    expect(new Set(copies.map((p) => p.deliveryId)).size).toBe(1);
  });

  it('SND-4: a send refused by the gateway for its sending cap is recorded as failed and never rerouted', async () => {
    const { connection } = await setUp('loc_cap');
    const request = emailRequested({ locationId: 'loc_cap' });
    await h.publish(request);
    const [send] = await h.log.waitFor(sendRequestedV1, (p) => p.sendId === request.payload.messageId);
    await h.publish(
      eventCatalog.create(sendFailedV1, {
        sendId: send.sendId,
        locationId: 'loc_cap',
        userId: 'usr_sam',
        contactId: 'ct_jane',
        conversationId: send.conversationId,
        route: send.route,
        code: 'sending_cap_reached',
        message: 'Gmail allows 500 emails per rolling day; resets at 10:00',
        failedAt: '2026-11-20T09:00:02.000Z',
      }),
    );
    await expectEventually(async () => {
      const why = await h.get('/internal/decisions', { messageId: send.sendId }).expect(200);
      expect(why.body.sends).toEqual([expect.objectContaining({ status: 'failed', route: send.route })]);
    });
    await h.drained();
    expect(h.log.of(sendRequestedV1, (p) => p.sendId === send.sendId)).toHaveLength(1);
    expect(send.route).toMatchObject({ kind: 'mailbox', connectionId: connection.connectionId });
  });

  it('the inspection routes refuse callers without the service credential', async () => {
    const res = await h.get('/internal/decisions', { messageId: 'x' }).set('Authorization', 'Bearer nope');
    expect(res.status).toBe(401);
    const missing = await h.get('/internal/decisions', {});
    expect(missing.status).toBe(400);
  });
});
