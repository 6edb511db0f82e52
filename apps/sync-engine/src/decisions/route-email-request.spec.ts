import { conversationIdFor } from '@mailbridge/contracts';
import { MB, SAM, attachment, connection } from '../testing/builders';
import type { ConnectionView } from './decision.types';
import {
  EmailRequest,
  RoutingPolicy,
  buildSendCommand,
  replyKeys,
  replyThreading,
  routeEmailRequest,
} from './route-email-request';

const policy: RoutingPolicy = {
  attachmentLimits: {},
  locationProviderAttachmentLimitBytes: 10 * MB,
  messageIdFallbackDomain: 'mailbridge.local',
};

const request = (over: Partial<EmailRequest> = {}): EmailRequest => ({
  messageId: '5b0e8a56-8c1a-4d5e-9a7b-0c2f4e6d8a10',
  idempotencyKey: 'crm-req-1',
  locationId: 'loc_a',
  userId: 'usr_sam',
  contactId: 'ct_jane',
  conversationId: conversationIdFor('loc_a', 'ct_jane'),
  kind: 'individual',
  to: [{ address: 'jane@example.com' }],
  cc: [],
  bcc: [],
  subject: 'Your quote',
  text: 'Hi',
  html: null,
  attachments: [],
  replyTo: null,
  requestedAt: '2026-11-20T09:15:00.000Z',
  ...over,
});

const gmail = connection();
const outlook = connection({ provider: 'microsoft', mailboxKey: `microsoft:${SAM}` });

const routeOf = (req: EmailRequest, conns: ConnectionView[]) => routeEmailRequest(req, conns, policy);

describe('routeEmailRequest', () => {
  it('SND-1: an individual email goes through the user’s active connection, from the connected address', () => {
    const d = routeOf(request(), [gmail]);
    expect(d).toMatchObject({
      outcome: 'send',
      rule: 'SND-1',
      route: { kind: 'mailbox', connectionId: gmail.connectionId, provider: 'google', fromAddress: SAM },
      rfcMessageId: '<mb.5b0e8a56-8c1a-4d5e-9a7b-0c2f4e6d8a10@acme.example>',
    });
  });

  it('SND-1: without an active connection (none, re-auth required, disconnected) the location provider sends it', () => {
    for (const conns of [
      [],
      [connection({ status: 'reauth_required' })],
      [connection({ status: 'disconnected' })],
    ]) {
      expect(routeOf(request(), conns)).toMatchObject({
        outcome: 'send',
        route: { kind: 'location_provider' },
      });
    }
    // Another user's or another location's connection is not this user's.
    expect(
      routeOf(request(), [connection({ userId: 'usr_other' }), connection({ locationId: 'loc_b' })]),
    ).toMatchObject({
      route: { kind: 'location_provider' },
    });
  });

  it('SND-2: bulk with Outlook is sent from the mailbox only when From is the connected address', () => {
    expect(
      routeOf(request({ kind: 'bulk', from: { address: 'SAM@acme.example' } }), [outlook]),
    ).toMatchObject({
      outcome: 'send',
      rule: 'SND-2',
      route: { kind: 'mailbox', provider: 'microsoft' },
    });
    expect(routeOf(request({ kind: 'bulk' }), [outlook])).toMatchObject({
      route: { kind: 'location_provider' },
    });
    expect(
      routeOf(request({ kind: 'bulk', from: { address: 'marketing@acme.example' } }), [outlook]),
    ).toMatchObject({
      route: { kind: 'location_provider' },
    });
  });

  it('SND-2: bulk with a Gmail connection always goes through the location provider', () => {
    expect(routeOf(request({ kind: 'bulk', from: { address: SAM } }), [gmail])).toMatchObject({
      outcome: 'send',
      rule: 'SND-2',
      route: { kind: 'location_provider' },
    });
  });

  it('SND-3: workflow email always goes through the location provider, never a personal mailbox', () => {
    expect(routeOf(request({ kind: 'workflow', from: { address: SAM } }), [gmail, outlook])).toMatchObject({
      outcome: 'send',
      rule: 'SND-3',
      route: { kind: 'location_provider' },
    });
  });

  it('ATT-1: an attachment over the route’s limit is refused before anything is sent (Outlook 3 MB, Gmail 25 MB)', () => {
    const big = attachment({ filename: 'site.zip', detectedKind: 'zip', size: 4 * MB });
    const refused = routeOf(request({ attachments: [big] }), [outlook]);
    expect(refused).toMatchObject({
      outcome: 'refuse',
      code: 'attachment_too_large',
      rule: 'ATT-1',
      route: { kind: 'mailbox', provider: 'microsoft' },
    });
    expect(refused.outcome === 'refuse' && refused.message).toContain('site.zip');
    expect(routeOf(request({ attachments: [big] }), [gmail]).outcome).toBe('send');
    // The location provider has its own limit (10 MB here).
    expect(routeOf(request({ attachments: [{ ...big, size: 11 * MB }] }), [])).toMatchObject({
      outcome: 'refuse',
      route: { kind: 'location_provider' },
    });
  });

  it('ATT-2: an attachment whose detected content is not a supported type is refused; no detection is not trusted', () => {
    const exe = attachment({ filename: 'invoice.pdf', detectedKind: 'unknown' });
    expect(routeOf(request({ attachments: [exe] }), [gmail])).toMatchObject({
      outcome: 'refuse',
      code: 'attachment_type_unsupported',
      rule: 'ATT-2',
    });
    const undetected = attachment({ detectedKind: undefined });
    expect(routeOf(request({ attachments: [undetected] }), [gmail])).toMatchObject({
      outcome: 'refuse',
      rule: 'ATT-2',
    });
    expect(routeOf(request({ attachments: [attachment()] }), [gmail]).outcome).toBe('send');
  });

  it('ATT-3: an attachment without an object store key is refused: bytes never travel in events', () => {
    const inline = attachment({ objectKey: undefined });
    expect(routeOf(request({ attachments: [inline] }), [gmail])).toMatchObject({
      outcome: 'refuse',
      code: 'attachment_unavailable',
      rule: 'ATT-3',
    });
  });

  it('refuses a request whose conversation is not the contact’s', () => {
    expect(
      routeOf(request({ conversationId: conversationIdFor('loc_a', 'ct_other') }), [gmail]),
    ).toMatchObject({
      outcome: 'refuse',
      code: 'invalid_request',
      route: null,
    });
  });

  it('SND-6: the Message-ID is derived from the CRM message id, so a retry of the same message reuses it', () => {
    const a = routeOf(request(), [gmail]);
    const b = routeOf(request({ idempotencyKey: 'retry' }), [gmail]);
    expect(a.outcome === 'send' && b.outcome === 'send' && a.rfcMessageId === b.rfcMessageId).toBe(true);
    expect(routeOf(request(), [])).toMatchObject({
      rfcMessageId: '<mb.5b0e8a56-8c1a-4d5e-9a7b-0c2f4e6d8a10@mailbridge.local>',
    });
  });
});

describe('reply threading (SND-5)', () => {
  const replyTo = {
    messageId: '6b0e8a56-8c1a-4d5e-9a7b-0c2f4e6d8a11',
    rfcMessageId: '<reply@mail.example.com>',
    references: ['<mb.1@acme.example>'],
    provider: 'google' as const,
    providerThreadId: 'th-1',
    subject: 'Re: Your quote',
  };

  it('SND-5: a CRM reply carries the thread id, In-Reply-To and References of the message it answers', () => {
    const req = request({ replyTo });
    expect(replyKeys(req.replyTo)).toEqual(['t:th-1', 'm:<reply@mail.example.com>', 'm:<mb.1@acme.example>']);
    const thread = replyThreading(req.replyTo, [
      { bindingId: 'b', key: 't:th-1', providerMessageId: null },
      { bindingId: 'b', key: 'm:<reply@mail.example.com>', providerMessageId: 'gm-reply' },
    ]);
    expect(thread).toEqual({ providerThreadId: 'th-1', providerMessageId: 'gm-reply' });
    const route = routeOf(req, [gmail]);
    if (route.outcome !== 'send') throw new Error('expected a send');
    const command = buildSendCommand(req, route.route, route.rfcMessageId, thread);
    expect(command).toMatchObject({
      sendId: req.messageId,
      inReplyTo: '<reply@mail.example.com>',
      references: ['<mb.1@acme.example>', '<reply@mail.example.com>'],
      replyInProviderThreadId: 'th-1',
      replyToProviderMessageId: 'gm-reply',
      from: { address: SAM },
    });
  });

  it('SND-5: a thread id that is not known in the sending mailbox is not passed to the provider', () => {
    expect(replyThreading({ ...replyTo, providerThreadId: 'other-mailbox-thread' }, [])).toEqual({
      providerThreadId: null,
      providerMessageId: null,
    });
  });
});
