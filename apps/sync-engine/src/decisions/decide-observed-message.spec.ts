import { conversationIdFor } from '@mailbridge/contracts';
import {
  MB,
  SAM,
  SAM_GMAIL_KEY,
  attachment,
  binding,
  connection,
  contact,
  decisionInput,
  observed,
  policy,
} from '../testing/builders';
import { decideObservedMessage } from './decide-observed-message';
import { bccContactIdFor, deliveryIdFor } from './ids';
import { identityKey, lookupKeys, messageKey, ownKeys, threadKey } from './thread-keys';

const CONN_A = '3f1c2b4a-6d7e-4f80-9a1b-2c3d4e5f6a70';
const CONN_B = '4f1c2b4a-6d7e-4f80-9a1b-2c3d4e5f6a71';
const CONV_A = conversationIdFor('loc_a', 'ct_jane');

const published = (d: ReturnType<typeof decideObservedMessage>) => d.skips.filter((s) => s.publish);

describe('decideObservedMessage: synced threads (SYN-2)', () => {
  const bound = binding({ bindingId: 'b0000000-0000-4000-8000-000000000001', conversationId: CONV_A });

  it('SYN-2: a contact reply in a CRM-started thread lands in the bound conversation', () => {
    const d = decideObservedMessage(
      decisionInput({
        observed: observed({
          message: { inReplyTo: '<mb.1@acme.example>', references: ['<mb.1@acme.example>'] },
        }),
        bindings: [bound],
        keyMatches: [{ key: threadKey('th-1'), bindingId: bound.bindingId }],
        contacts: [],
      }),
    );
    expect(d.deliveries).toHaveLength(1);
    expect(d.deliveries[0]).toMatchObject({
      locationId: 'loc_a',
      conversationId: CONV_A,
      direction: 'inbound',
      source: 'mailbox',
      rule: 'SYN-2',
      bindingId: bound.bindingId,
    });
    // The reply's own keys join the thread, so a reply to it is found even without the thread id.
    expect(d.keyAdditions).toEqual([
      {
        bindingId: bound.bindingId,
        mailboxKey: SAM_GMAIL_KEY,
        keys: [
          { key: threadKey('th-1'), providerMessageId: null, firstAt: '2026-11-20T09:00:02.000Z' },
          { key: messageKey('<m1@mail.example.com>'), providerMessageId: 'gm-1' },
          { key: identityKey(observed().message), providerMessageId: 'gm-1' },
        ],
      },
    ]);
    expect(d.newBindings).toEqual([]);
  });

  it('SYN-2, SYN-3: mail that only shares the provider thread and reached the mailbox before the message that bound it stays private', () => {
    // Sam forwarded a vendor's mail to a contact (ADR-4): the forward bound the Gmail thread; the vendor's earlier mail
    // in that thread is not part of the synced conversation, whatever order the two are observed in.
    const byForward = binding({
      bindingId: 'b0000000-0000-4000-8000-000000000009',
      originRule: 'ADR-4',
      originAt: '2026-11-20T10:00:00.000Z',
    });
    const vendorMail = observed({
      message: { from: { address: 'vendor@supplier.example' }, receivedAt: '2026-11-20T09:59:00.000Z' },
    });
    const d = decideObservedMessage(
      decisionInput({
        observed: vendorMail,
        bindings: [byForward],
        keyMatches: [{ key: threadKey('th-1'), bindingId: byForward.bindingId }],
        contacts: [],
      }),
    );
    expect(d.deliveries).toEqual([]);
    expect(d.skips).toEqual([
      expect.objectContaining({ reason: 'predates_synced_thread', rule: 'SYN-2', publish: false }),
    ]);
    expect(d.keyAdditions).toEqual([]);
    // Kept aside: an even earlier message of the thread that syncs on its own may still be observed.
    expect(d.park).toBe(true);

    // A reply into the thread is part of it even when its clock says earlier (Date skew): found by its headers.
    const reply = observed({
      message: {
        receivedAt: '2026-11-20T09:59:00.000Z',
        inReplyTo: '<fwd@gmail.example>',
        references: ['<fwd@gmail.example>'],
      },
    });
    const r = decideObservedMessage(
      decisionInput({
        observed: reply,
        bindings: [byForward],
        keyMatches: [
          { key: threadKey('th-1'), bindingId: byForward.bindingId },
          { key: messageKey('<fwd@gmail.example>'), bindingId: byForward.bindingId },
        ],
        contacts: [],
      }),
    );
    expect(r.deliveries).toHaveLength(1);
  });

  it('SYN-2, SYN-3, SYN-6: an earlier contact message observed after a later one bound the thread syncs, and the thread syncs from it on', () => {
    const byLater = binding({
      bindingId: 'b0000000-0000-4000-8000-00000000000a',
      conversationId: CONV_A,
      originRule: 'SYN-3',
      originAt: '2026-11-20T10:00:00.000Z',
    });
    const d = decideObservedMessage(
      decisionInput({
        observed: observed({ message: { receivedAt: '2026-11-20T09:30:00.000Z' } }),
        bindings: [byLater],
        keyMatches: [
          { key: threadKey('th-1'), bindingId: byLater.bindingId, firstAt: '2026-11-20T10:00:00.000Z' },
        ],
        connections: [connection({ connectionId: byLater.connectionId })],
      }),
    );
    // As if observed first: Jane's own mail syncs (SYN-3), and mail of the thread from 09:30 on is later mail (SYN-2).
    expect(d.deliveries.map((x) => [x.conversationId, x.bindingId])).toEqual([[CONV_A, byLater.bindingId]]);
    expect(d.keyAdditions[0].keys).toContainEqual({
      key: threadKey('th-1'),
      providerMessageId: null,
      firstAt: '2026-11-20T09:30:00.000Z',
    });
    expect(d.park).toBe(false);
  });

  it('SYN-2: older mail is judged by the first synced message of its own provider thread, not of the binding', () => {
    // The binding started at 09:00 in another provider thread; th-1 joined it (a reply) with its first message at 10:00.
    const joined = binding({
      bindingId: 'b0000000-0000-4000-8000-00000000000c',
      originRule: 'SYN-3',
      originAt: '2026-11-20T09:00:00.000Z',
    });
    const d = decideObservedMessage(
      decisionInput({
        observed: observed({
          message: { from: { address: 'vendor@supplier.example' }, receivedAt: '2026-11-20T09:30:00.000Z' },
        }),
        bindings: [joined],
        keyMatches: [
          { key: threadKey('th-1'), bindingId: joined.bindingId, firstAt: '2026-11-20T10:00:00.000Z' },
        ],
        contacts: [],
      }),
    );
    expect(d.deliveries).toEqual([]);
    expect(d.skips).toEqual([expect.objectContaining({ reason: 'predates_synced_thread' })]);
  });

  it('SYN-2: a message the user writes in a synced thread from Gmail is recorded as outbound', () => {
    const d = decideObservedMessage(
      decisionInput({
        observed: observed({
          direction: 'outbound',
          inSent: true,
          message: { from: { address: SAM }, to: [{ address: 'someone@else.example' }] },
        }),
        bindings: [bound],
        keyMatches: [{ key: threadKey('th-1'), bindingId: bound.bindingId }],
        contacts: [],
      }),
    );
    expect(d.deliveries.map((x) => [x.conversationId, x.direction, x.rule])).toEqual([
      [CONV_A, 'outbound', 'SYN-2'],
    ]);
  });

  it('SYN-2: a reply that lost the provider thread (Outlook subject change) is found by In-Reply-To', () => {
    const d = decideObservedMessage(
      decisionInput({
        observed: observed({
          message: {
            providerThreadId: 'new-thread',
            subject: 'Other subject',
            inReplyTo: '<mb.1@acme.example>',
          },
        }),
        bindings: [bound],
        keyMatches: [{ key: messageKey('<mb.1@acme.example>'), bindingId: bound.bindingId }],
        contacts: [],
      }),
    );
    expect(d.deliveries.map((x) => x.conversationId)).toEqual([CONV_A]);
    expect(d.trace.join('\n')).toContain('in_reply_to');
  });

  it('SYN-2: References are followed newest first when In-Reply-To is unknown', () => {
    const older = binding({
      bindingId: 'b0000000-0000-4000-8000-00000000000e',
      conversationId: 'c-old',
      contactId: 'ct_old',
    });
    const d = decideObservedMessage(
      decisionInput({
        observed: observed({
          message: {
            providerThreadId: null,
            inReplyTo: '<unknown@x>',
            references: ['<root@x>', '<mid@x>', '<unknown@x>'],
          },
        }),
        bindings: [bound, older],
        keyMatches: [
          { key: messageKey('<root@x>'), bindingId: older.bindingId },
          { key: messageKey('<mid@x>'), bindingId: bound.bindingId },
        ],
        contacts: [],
      }),
    );
    expect(d.deliveries.map((x) => x.bindingId)).toEqual([bound.bindingId]);
  });

  it('SYN-2: the provider thread id wins over a References chain that points elsewhere', () => {
    const other = binding({ bindingId: 'b0000000-0000-4000-8000-00000000000f', conversationId: 'c-other' });
    const d = decideObservedMessage(
      decisionInput({
        observed: observed({ message: { inReplyTo: '<x@y>' } }),
        bindings: [bound, other],
        keyMatches: [
          { key: threadKey('th-1'), bindingId: bound.bindingId },
          { key: messageKey('<x@y>'), bindingId: other.bindingId },
        ],
      }),
    );
    expect(d.deliveries.map((x) => x.bindingId)).toEqual([bound.bindingId]);
  });
});

describe('decideObservedMessage: threads started in the mailbox (SYN-3)', () => {
  it('SYN-3: contact_mail syncs mail from a contact assigned to the user and binds its thread', () => {
    const d = decideObservedMessage(decisionInput());
    expect(d.deliveries).toHaveLength(1);
    expect(d.deliveries[0]).toMatchObject({
      locationId: 'loc_a',
      contactId: 'ct_jane',
      conversationId: CONV_A,
      connectionId: CONN_A,
      rule: 'SYN-3',
      deliveryId: deliveryIdFor(CONV_A, observed().message),
    });
    expect(d.newBindings).toHaveLength(1);
    expect(d.newBindings[0]).toMatchObject({
      locationId: 'loc_a',
      conversationId: CONV_A,
      originRule: 'SYN-3',
    });
    expect(d.newBindings[0].keys.map((k) => k.key)).toEqual([
      threadKey('th-1'),
      messageKey('<m1@mail.example.com>'),
      identityKey(observed().message),
    ]);
  });

  it('SYN-3: crm_threads never syncs a thread started in the mailbox, and says so for the contact', () => {
    const d = decideObservedMessage(
      decisionInput({ connections: [connection({ syncScope: 'crm_threads' })] }),
    );
    expect(d.deliveries).toEqual([]);
    expect(d.newBindings).toEqual([]);
    expect(published(d)).toEqual([
      expect.objectContaining({
        locationId: 'loc_a',
        contactId: 'ct_jane',
        reason: 'scope_crm_threads',
        rule: 'SYN-3',
      }),
    ]);
  });

  it('SYN-3: mail with no matching contact never syncs, never creates a contact, and is not published', () => {
    const d = decideObservedMessage(
      decisionInput({ observed: observed({ message: { from: { address: 'newsletter@shop.example' } } }) }),
    );
    expect(d.deliveries).toEqual([]);
    expect(d.contactRequests).toEqual([]);
    expect(d.skips).toEqual([expect.objectContaining({ reason: 'no_matching_contact', publish: false })]);
    // Kept aside by its thread id: should an earlier message of its thread sync, it is later mail of a synced thread
    // (SYN-2); a later message (say the user forwards it to a contact) binding the thread leaves it private.
    expect(d.park).toBe(true);
  });

  it('SYN-6: a reply seen before the message it answers is kept aside for a second look (its parent may bind later)', () => {
    const d = decideObservedMessage(
      decisionInput({
        observed: observed({
          message: {
            from: { address: 'newsletter@shop.example' },
            inReplyTo: '<parent@x.example>',
            references: ['<parent@x.example>'],
          },
        }),
      }),
    );
    expect(d.deliveries).toEqual([]);
    expect(d.park).toBe(true);
  });

  it('SYN-3: a contact assigned to another user does not sync into this user’s connection', () => {
    const d = decideObservedMessage(decisionInput({ contacts: [contact({ assignedUserId: 'usr_other' })] }));
    expect(d.deliveries).toEqual([]);
    expect(published(d)).toEqual([
      expect.objectContaining({ reason: 'contact_not_assigned', contactId: 'ct_jane' }),
    ]);
  });
});

describe('decideObservedMessage: one mailbox, several locations (SYN-4)', () => {
  const connA = connection({ connectionId: CONN_A, locationId: 'loc_a' });
  const connB = connection({ connectionId: CONN_B, locationId: 'loc_b' });
  const janeA = contact({ locationId: 'loc_a', contactId: 'ct_a' });
  const janeB = contact({ locationId: 'loc_b', contactId: 'ct_b' });

  it('SYN-4: an inbound message outside synced threads goes to every location where the sender is the user’s contact', () => {
    const d = decideObservedMessage(decisionInput({ connections: [connA, connB], contacts: [janeA, janeB] }));
    expect(d.deliveries.map((x) => [x.locationId, x.contactId, x.rule])).toEqual([
      ['loc_a', 'ct_a', 'SYN-4'],
      ['loc_b', 'ct_b', 'SYN-4'],
    ]);
    expect(d.newBindings.map((x) => x.locationId)).toEqual(['loc_a', 'loc_b']);
  });

  it('SYN-4: only locations where the contact is assigned to the user receive it', () => {
    const d = decideObservedMessage(
      decisionInput({ connections: [connA, connB], contacts: [janeA, { ...janeB, assignedUserId: null }] }),
    );
    expect(d.deliveries.map((x) => x.locationId)).toEqual(['loc_a']);
  });

  it('SYN-4: after the user replied from B, the thread’s next message goes to B only', () => {
    const bA = binding({
      bindingId: 'b0000000-0000-4000-8000-0000000000a1',
      locationId: 'loc_a',
      connectionId: CONN_A,
      contactId: 'ct_a',
      conversationId: conversationIdFor('loc_a', 'ct_a'),
      status: 'ended',
      endReason: 'rebound_elsewhere',
    });
    const bB = binding({
      bindingId: 'b0000000-0000-4000-8000-0000000000b1',
      locationId: 'loc_b',
      connectionId: CONN_B,
      contactId: 'ct_b',
      conversationId: conversationIdFor('loc_b', 'ct_b'),
    });
    const d = decideObservedMessage(
      decisionInput({
        connections: [connA, connB],
        contacts: [janeA, janeB],
        bindings: [bA, bB],
        keyMatches: [
          { key: threadKey('th-1'), bindingId: bA.bindingId },
          { key: threadKey('th-1'), bindingId: bB.bindingId },
        ],
      }),
    );
    expect(d.deliveries.map((x) => x.locationId)).toEqual(['loc_b']);
    expect(d.skips).toEqual([
      expect.objectContaining({ locationId: 'loc_a', reason: 'thread_bound_elsewhere', publish: false }),
    ]);
  });

  it('SYN-4: a CRM thread of location A stays in A even where the sender is also a contact of B', () => {
    const bA = binding({
      locationId: 'loc_a',
      connectionId: CONN_A,
      contactId: 'ct_a',
      conversationId: conversationIdFor('loc_a', 'ct_a'),
    });
    const d = decideObservedMessage(
      decisionInput({
        connections: [connA, connB],
        contacts: [janeA, janeB],
        bindings: [bA],
        keyMatches: [{ key: messageKey('<mb.1@acme.example>'), bindingId: bA.bindingId }],
        observed: observed({ message: { providerThreadId: null, inReplyTo: '<mb.1@acme.example>' } }),
      }),
    );
    expect(d.deliveries.map((x) => x.locationId)).toEqual(['loc_a']);
  });
});

describe('decideObservedMessage: recorded once (SYN-5)', () => {
  const send = {
    sendId: '5b0e8a56-8c1a-4d5e-9a7b-0c2f4e6d8a10',
    locationId: 'loc_a',
    userId: 'usr_sam',
    contactId: 'ct_jane',
    conversationId: CONV_A,
    connectionId: CONN_A,
    mailboxKey: SAM_GMAIL_KEY,
    bindingId: 'b0000000-0000-4000-8000-000000000005',
    rfcMessageId: '<mb.5b0e8a56-8c1a-4d5e-9a7b-0c2f4e6d8a10@acme.example>',
  };
  const sentCopy = observed({
    direction: 'outbound',
    inSent: true,
    message: {
      rfcMessageId: send.rfcMessageId,
      from: { address: SAM },
      to: [{ address: 'jane@example.com' }],
      providerThreadId: 'th-new',
      providerMessageId: 'gm-sent',
    },
  });

  it('SYN-5: the Sent copy of a CRM email is that email (crmMessageId and its delivery id), never a second entry', () => {
    const d = decideObservedMessage(decisionInput({ observed: sentCopy, crmSends: [send] }));
    expect(d.deliveries).toEqual([
      expect.objectContaining({
        deliveryId: send.sendId,
        crmMessageId: send.sendId,
        conversationId: CONV_A,
        source: 'crm',
        rule: 'SYN-5',
      }),
    ]);
    // It teaches the binding the provider thread id of the CRM thread.
    expect(d.keyAdditions[0]).toMatchObject({
      bindingId: send.bindingId,
      keys: [{ key: threadKey('th-new') }, expect.anything(), expect.anything()],
    });
    expect(d.newBindings).toEqual([]);
  });

  it('SYN-5: the Sent copy is recognised by X-Mailbridge-Ref when the provider rewrote the Message-ID', () => {
    const d = decideObservedMessage(
      decisionInput({
        observed: {
          ...sentCopy,
          message: {
            ...sentCopy.message,
            rfcMessageId: '<rewritten@outlook.com>',
            mailbridgeRef: send.sendId,
          },
        },
        crmSends: [send],
      }),
    );
    expect(d.deliveries.map((x) => x.deliveryId)).toEqual([send.sendId]);
  });

  it('SYN-5: the same message seen by push and by poll (or in two mailboxes) has one delivery id per conversation', () => {
    const first = decideObservedMessage(decisionInput());
    const again = decideObservedMessage(
      decisionInput({
        observed: observed({
          mailboxId: '11111111-1111-4111-8111-111111111111',
          message: { providerMessageId: 'other-mailbox-id' },
        }),
      }),
    );
    expect(again.deliveries[0].deliveryId).toBe(first.deliveries[0].deliveryId);
  });
});

describe('decideObservedMessage: addressing (ADR)', () => {
  it('ADR-1: a contact’s message to someone else with the user in Cc is recorded under the contact, no contact created', () => {
    const d = decideObservedMessage(
      decisionInput({
        observed: observed({
          message: {
            to: [{ address: 'colleague@partner.example' }, { address: 'stranger@x.example' }],
            cc: [{ address: SAM }],
          },
        }),
      }),
    );
    expect(d.deliveries.map((x) => x.contactId)).toEqual(['ct_jane']);
    expect(d.contactRequests).toEqual([]);
  });

  it('ADR-2: the first recipient contact in header order (To, then Cc, then Bcc) owns an outbound message', () => {
    const contacts = [
      contact({ contactId: 'ct_cc', emailNormalized: 'cc@example.com' }),
      contact({ contactId: 'ct_bcc', emailNormalized: 'bcc@example.com' }),
      contact({ contactId: 'ct_to2', emailNormalized: 'to2@example.com' }),
    ];
    const d = decideObservedMessage(
      decisionInput({
        contacts,
        observed: observed({
          direction: 'outbound',
          message: {
            from: { address: SAM },
            to: [{ address: 'nobody@example.com' }, { address: 'to2@example.com' }],
            cc: [{ address: 'cc@example.com' }],
            bcc: [{ address: 'bcc@example.com' }],
          },
        }),
      }),
    );
    expect(d.deliveries.map((x) => x.contactId)).toEqual(['ct_to2']);

    const noTo = decideObservedMessage(
      decisionInput({
        contacts,
        observed: observed({
          direction: 'outbound',
          message: {
            from: { address: SAM },
            to: [{ address: 'nobody@example.com' }],
            cc: [{ address: 'cc@example.com' }],
            bcc: [{ address: 'bcc@example.com' }],
          },
        }),
      }),
    );
    expect(noTo.deliveries.map((x) => x.contactId)).toEqual(['ct_cc']);
  });

  it('ADR-3: contacts sharing one address: the message goes to the one created first', () => {
    const d = decideObservedMessage(
      decisionInput({
        contacts: [
          contact({ contactId: 'ct_late', createdAt: '2026-03-02T00:00:00.000Z' }),
          contact({ contactId: 'ct_early', createdAt: '2026-03-01T00:00:00.000Z' }),
        ],
      }),
    );
    expect(d.deliveries.map((x) => x.contactId)).toEqual(['ct_early']);
    expect(d.rules).toContain('ADR-3');
  });

  it('ADR-4: a forward from the mailbox to an existing contact is an outbound message under that contact', () => {
    const d = decideObservedMessage(
      decisionInput({
        observed: observed({
          direction: 'outbound',
          inSent: true,
          message: {
            from: { address: SAM },
            to: [{ address: 'jane@example.com' }],
            subject: 'Fwd: Site plan',
            text: '---------- Forwarded message ---------\nFrom: architect@x.example',
          },
        }),
      }),
    );
    expect(d.deliveries.map((x) => [x.contactId, x.direction, x.rule])).toEqual([
      ['ct_jane', 'outbound', 'ADR-4'],
    ]);
  });

  it('ADR-5: matching ignores case and display names but does not fold Gmail dots or plus-tags', () => {
    const upper = decideObservedMessage(
      decisionInput({
        observed: observed({ message: { from: { name: 'Someone Else', address: 'JANE@Example.COM' } } }),
      }),
    );
    expect(upper.deliveries.map((x) => x.contactId)).toEqual(['ct_jane']);
    const plus = decideObservedMessage(
      decisionInput({ observed: observed({ message: { from: { address: 'jane+crm@example.com' } } }) }),
    );
    expect(plus.deliveries).toEqual([]);
    const dots = decideObservedMessage(
      decisionInput({ observed: observed({ message: { from: { address: 'ja.ne@example.com' } } }) }),
    );
    expect(dots.deliveries).toEqual([]);
  });
});

describe('decideObservedMessage: attachments (ATT)', () => {
  const big = attachment({ filename: 'site.zip', detectedKind: 'zip', size: 4 * MB });
  const outlook = (over = {}) =>
    decisionInput({
      observed: observed({
        mailboxKey: `microsoft:${SAM}`,
        message: { provider: 'microsoft', attachments: [big] },
      }),
      connections: [connection({ provider: 'microsoft', mailboxKey: `microsoft:${SAM}` })],
      ...over,
    });

  it('ATT-1: an inbound message with an attachment over the Outlook limit (3 MB) is skipped and the CRM told why', () => {
    const d = decideObservedMessage(outlook());
    expect(d.deliveries).toEqual([]);
    expect(d.newBindings).toEqual([]);
    expect(published(d)).toEqual([
      expect.objectContaining({
        locationId: 'loc_a',
        contactId: 'ct_jane',
        reason: 'attachment_too_large',
        rule: 'ATT-1',
      }),
    ]);
    expect(published(d)[0].detail).toContain('site.zip');
  });

  it('ATT-1: the same 4 MB attachment is fine for Gmail (25 MB), and the limit is configurable', () => {
    const gmail = decisionInput({ observed: observed({ message: { attachments: [big] } }) });
    expect(decideObservedMessage(gmail).deliveries).toHaveLength(1);
    const lowered = decideObservedMessage({
      ...gmail,
      policy: policy({ attachmentLimits: { google: 2 * MB } }),
    });
    expect(lowered.deliveries).toEqual([]);
  });

  it('ATT-1: policy strip syncs the message and leaves the oversized attachment behind with a reason', () => {
    const d = decideObservedMessage(outlook({ policy: policy({ stripLocations: new Set(['loc_a']) }) }));
    expect(d.deliveries).toHaveLength(1);
    const [att] = d.deliveries[0].message.attachments;
    expect(att.objectKey).toBeUndefined();
    expect(att.omittedReason).toBe('attachment_too_large');
    expect(d.rules).toContain('ATT-1');
  });

  it('ATT-2: an unsupported type (detected from the bytes, not the name) is left behind and the message still syncs', () => {
    const fakePdf = attachment({
      filename: 'invoice.pdf',
      contentType: 'application/pdf',
      detectedKind: 'unknown',
    });
    const realPdf = attachment({
      filename: 'scan.bin',
      contentType: 'application/octet-stream',
      detectedKind: 'pdf',
    });
    const d = decideObservedMessage(
      decisionInput({ observed: observed({ message: { attachments: [fakePdf, realPdf] } }) }),
    );
    expect(d.deliveries).toHaveLength(1);
    const [left, kept] = d.deliveries[0].message.attachments;
    expect(left).toMatchObject({ filename: 'invoice.pdf', omittedReason: 'attachment_type_unsupported' });
    expect(left.objectKey).toBeUndefined();
    expect(kept.objectKey).toBe(realPdf.objectKey);
    expect(d.rules).toContain('ATT-2');
  });
});

describe('decideObservedMessage: connection changes (CON-3, CON-4)', () => {
  const bound = binding({ conversationId: CONV_A });
  const reply = observed({ message: { inReplyTo: '<mb.1@acme.example>' } });
  const matches = [{ key: threadKey('th-1'), bindingId: bound.bindingId }];

  it('CON-4: a reply in a thread synced through a disconnected connection is skipped with its reason', () => {
    const d = decideObservedMessage(
      decisionInput({
        observed: reply,
        connections: [connection({ status: 'disconnected' })],
        bindings: [bound],
        keyMatches: matches,
      }),
    );
    expect(d.deliveries).toEqual([]);
    expect(published(d)).toEqual([
      expect.objectContaining({
        reason: 'connection_disconnected',
        rule: 'CON-4',
        locationId: 'loc_a',
        contactId: 'ct_jane',
      }),
    ]);
  });

  it('CON-4: reconnecting the same mailbox does not bring an ended thread back, even under contact_mail', () => {
    const d = decideObservedMessage(
      decisionInput({
        observed: reply,
        connections: [
          connection({ status: 'disconnected' }),
          connection({ connectionId: CONN_B, status: 'active', syncScope: 'contact_mail' }),
        ],
        bindings: [{ ...bound, status: 'ended', endReason: 'connection_disconnected' }],
        keyMatches: matches,
      }),
    );
    expect(d.deliveries).toEqual([]);
    expect(published(d).map((s) => s.reason)).toEqual(['connection_disconnected']);
  });

  it('SYN-2: a synced thread whose contact was deleted in the CRM no longer delivers (recorded, not published)', () => {
    const d = decideObservedMessage(
      decisionInput({ observed: reply, bindings: [{ ...bound, contactDeleted: true }], keyMatches: matches }),
    );
    expect(d.deliveries).toEqual([]);
    expect(d.skips).toEqual([expect.objectContaining({ reason: 'contact_deleted', publish: false })]);
  });

  it('CON-3: after update email, a reply in a thread synced through the old mailbox is skipped with its reason', () => {
    const d = decideObservedMessage(
      decisionInput({
        observed: reply,
        connections: [connection({ status: 'replaced' })],
        bindings: [bound],
        keyMatches: matches,
      }),
    );
    expect(d.deliveries).toEqual([]);
    expect(published(d)).toEqual([expect.objectContaining({ reason: 'connection_replaced', rule: 'CON-3' })]);
  });
});

describe('decideObservedMessage: Auto-BCC (BCC-1)', () => {
  const BCC = 'loc-a.usr-sam@bcc.mailbridge.example';
  const bccMessage = (over: Parameters<typeof observed>[0] = {}) =>
    observed({
      source: 'smart_bcc',
      mailboxKey: `smart_bcc:${BCC}`,
      mailboxAddress: BCC,
      direction: 'outbound',
      smartBcc: { locationId: 'loc_a', userId: 'usr_sam' },
      ...over,
      message: {
        from: { address: SAM },
        to: [{ name: 'New Lead', address: 'New.Lead@Example.org' }],
        bcc: [{ address: BCC }],
        providerThreadId: 'bcc-thread',
        ...over.message,
      },
    });

  it('BCC-1: a message with the smart-BCC address creates the recipient contact and is recorded under it', () => {
    const d = decideObservedMessage(decisionInput({ observed: bccMessage(), contacts: [] }));
    const contactId = bccContactIdFor('loc_a', 'new.lead@example.org');
    expect(d.contactRequests).toEqual([
      {
        locationId: 'loc_a',
        contactId,
        email: 'new.lead@example.org',
        name: 'New Lead',
        assignedUserId: 'usr_sam',
      },
    ]);
    expect(d.deliveries).toEqual([
      expect.objectContaining({
        contactId,
        conversationId: conversationIdFor('loc_a', contactId),
        source: 'smart_bcc',
        direction: 'outbound',
        rule: 'BCC-1',
      }),
    ]);
    // Never shown as a recipient.
    expect(d.deliveries[0].message.bcc).toEqual([]);
    expect(d.learnedSmartBcc).toEqual({ address: BCC.toLowerCase(), locationId: 'loc_a', userId: 'usr_sam' });
  });

  it('BCC-1: an existing contact is used (first in header order), nothing is created', () => {
    const d = decideObservedMessage(
      decisionInput({
        observed: bccMessage({
          message: { to: [{ address: 'stranger@x.example' }], cc: [{ address: 'jane@example.com' }] },
        }),
      }),
    );
    expect(d.contactRequests).toEqual([]);
    expect(d.deliveries.map((x) => x.contactId)).toEqual(['ct_jane']);
  });

  it('BCC-1: with an active connection for the sending mailbox the thread becomes synced there', () => {
    const d = decideObservedMessage(decisionInput({ observed: bccMessage(), contacts: [] }));
    expect(d.newBindings).toEqual([
      expect.objectContaining({
        mailboxKey: SAM_GMAIL_KEY,
        locationId: 'loc_a',
        connectionId: CONN_A,
        originRule: 'BCC-1',
        keys: [
          { key: messageKey('<m1@mail.example.com>'), providerMessageId: null },
          { key: identityKey(bccMessage().message), providerMessageId: null },
        ],
      }),
    ]);
    const without = decideObservedMessage(
      decisionInput({ observed: bccMessage(), contacts: [], connections: [] }),
    );
    expect(without.deliveries).toHaveLength(1);
    expect(without.newBindings).toEqual([]);
  });

  it('BCC-1: mail from an address that is not the user’s is not recorded through their smart-BCC address', () => {
    const d = decideObservedMessage(
      decisionInput({ observed: bccMessage({ message: { from: { address: 'spoofer@evil.example' } } }) }),
    );
    expect(d.deliveries).toEqual([]);
    expect(d.contactRequests).toEqual([]);
    expect(published(d)).toEqual([expect.objectContaining({ reason: 'sender_mismatch', rule: 'BCC-1' })]);
  });

  it('BCC-1: the smart-BCC address never becomes a contact nor a shown recipient in the mailbox copy either', () => {
    const d = decideObservedMessage(
      decisionInput({
        smartBccAddresses: new Set([BCC.toLowerCase()]),
        observed: observed({
          direction: 'outbound',
          message: {
            from: { address: SAM },
            to: [{ address: BCC }],
            cc: [{ address: 'jane@example.com' }],
            bcc: [{ address: BCC }],
          },
        }),
      }),
    );
    expect(d.deliveries.map((x) => x.contactId)).toEqual(['ct_jane']);
    expect(d.deliveries[0].message.to).toEqual([]);
    expect(d.deliveries[0].message.bcc).toEqual([]);
  });
});

describe('decideObservedMessage: a reused Message-ID (loss path 5)', () => {
  const REUSED = '<xxxx@broken-mailer.example>';
  const janeMail = observed({ message: { rfcMessageId: REUSED, providerMessageId: 'gm-jane' } });
  const janeBinding = binding({
    bindingId: 'b0000000-0000-4000-8000-0000000000a5',
    conversationId: CONV_A,
    originRule: 'SYN-3',
  });
  // What the binding holds after Jane's mail synced (her own keys), and what the loader finds for a message.
  const stored = ownKeys(janeMail.message).map((k) => ({ key: k.key, bindingId: janeBinding.bindingId }));
  const matchesFor = (o: typeof janeMail) =>
    stored.filter((k) => lookupKeys(o.message).some((l) => l.key === k.key));
  const bobMail = (over: Parameters<typeof observed>[0] = {}) =>
    observed({
      ...over,
      message: {
        rfcMessageId: REUSED,
        providerMessageId: 'gm-bob',
        providerThreadId: 'th-bob',
        from: { name: 'Bob', address: 'bob@example.com' },
        subject: 'Order 42',
        sentAt: '2026-11-21T08:00:00.000Z',
        receivedAt: '2026-11-21T08:00:01.000Z',
        ...over.message,
      },
    });
  const janeDelivery = decideObservedMessage(decisionInput({ observed: janeMail })).deliveries[0];

  it('loss path 5 / SYN-5: a foreign message reusing a recorded Message-ID, from another sender of the same location, syncs into its own conversation', () => {
    const bob = bobMail();
    const d = decideObservedMessage(
      decisionInput({
        observed: bob,
        bindings: [janeBinding],
        keyMatches: matchesFor(bob),
        contacts: [contact(), contact({ contactId: 'ct_bob', emailNormalized: 'bob@example.com' })],
        messageIdTaken: true,
      }),
    );
    expect(d.deliveries).toEqual([
      expect.objectContaining({ conversationId: conversationIdFor('loc_a', 'ct_bob'), rule: 'SYN-3' }),
    ]);
    expect(d.deliveries.some((x) => x.conversationId === CONV_A)).toBe(false);
    expect(d.deliveries[0].deliveryId).not.toBe(janeDelivery.deliveryId);
    expect(d.messageIdCollision).toBe(true);
  });

  it('loss path 5 / SYN-5: a foreign message reusing a recorded Message-ID, from a sender that is a contact in another location only, syncs there', () => {
    const bob = bobMail();
    const connB = connection({ connectionId: CONN_B, locationId: 'loc_b' });
    const d = decideObservedMessage(
      decisionInput({
        observed: bob,
        connections: [connection(), connB],
        bindings: [janeBinding],
        keyMatches: matchesFor(bob),
        contacts: [
          contact(),
          contact({ locationId: 'loc_b', contactId: 'ct_bob', emailNormalized: 'bob@example.com' }),
        ],
        messageIdTaken: true,
      }),
    );
    expect(d.deliveries.map((x) => [x.locationId, x.conversationId])).toEqual([
      ['loc_b', conversationIdFor('loc_b', 'ct_bob')],
    ]);
    expect(d.messageIdCollision).toBe(true);
  });

  it('loss path 5 / SYN-5: a stranger reusing a recorded Message-ID is never put into the earlier conversation', () => {
    const stranger = bobMail({ message: { from: { address: 'someone@elsewhere.example' } } });
    const d = decideObservedMessage(
      decisionInput({
        observed: stranger,
        bindings: [janeBinding],
        keyMatches: matchesFor(stranger),
        messageIdTaken: true,
      }),
    );
    expect(d.deliveries).toEqual([]);
    expect(d.skips).toEqual([expect.objectContaining({ reason: 'no_matching_contact', rule: 'SYN-3' })]);
  });

  it('loss path 5 / SYN-5: another email of the same sender reusing her Message-ID is a second entry, not a repeat', () => {
    const again = observed({
      message: {
        rfcMessageId: REUSED,
        providerMessageId: 'gm-jane-2',
        providerThreadId: 'th-2',
        subject: 'Another question',
        sentAt: '2026-11-22T08:00:00.000Z',
      },
    });
    const d = decideObservedMessage(
      decisionInput({
        observed: again,
        bindings: [janeBinding],
        keyMatches: matchesFor(again),
        messageIdTaken: true,
      }),
    );
    expect(d.deliveries).toEqual([expect.objectContaining({ conversationId: CONV_A })]);
    expect(d.deliveries[0].deliveryId).not.toBe(janeDelivery.deliveryId);
  });

  it('loss path 5 / SYN-5: the same email (same Message-ID, sender, Date, subject) under another provider id is found by its identity: one delivery id', () => {
    const copy = observed({
      message: { rfcMessageId: REUSED, providerMessageId: 'gm-jane-copy', providerThreadId: 'th-other' },
    });
    const d = decideObservedMessage(
      decisionInput({
        observed: copy,
        bindings: [janeBinding],
        keyMatches: matchesFor(copy),
        contacts: [],
        messageIdTaken: true,
      }),
    );
    expect(d.deliveries).toEqual([
      expect.objectContaining({ conversationId: CONV_A, rule: 'SYN-2', deliveryId: janeDelivery.deliveryId }),
    ]);
    expect(d.messageIdCollision).toBe(false);
  });

  it('loss path 5 / SYN-2: a reply naming only a reused parent Message-ID goes to the thread of the contact taking part in it', () => {
    const bobBinding = binding({
      bindingId: 'b0000000-0000-4000-8000-0000000000b6',
      contactId: 'ct_bob',
      conversationId: conversationIdFor('loc_a', 'ct_bob'),
      originRule: 'SYN-3',
    });
    const reply = bobMail({
      message: {
        providerMessageId: 'gm-reply',
        providerThreadId: 'th-broken',
        rfcMessageId: '<reply@example.com>',
        inReplyTo: REUSED,
        references: [REUSED],
        from: { address: 'jane@example.com' },
        subject: 'Re: Hello',
      },
    });
    const keyMatches = [...matchesFor(reply), { key: messageKey(REUSED), bindingId: bobBinding.bindingId }];
    const d = decideObservedMessage(
      decisionInput({
        observed: reply,
        bindings: [janeBinding, bobBinding],
        keyMatches,
        contacts: [contact()],
      }),
    );
    expect(d.deliveries).toEqual([expect.objectContaining({ conversationId: CONV_A, rule: 'SYN-2' })]);
    // Nobody of either thread takes part: it goes to both, as any reply naming them.
    const stranger = decideObservedMessage(
      decisionInput({
        observed: bobMail({ message: { ...reply.message, from: { address: 'x@elsewhere.example' } } }),
        bindings: [janeBinding, bobBinding],
        keyMatches,
        contacts: [],
      }),
    );
    expect(stranger.deliveries).toHaveLength(2);
  });
});
