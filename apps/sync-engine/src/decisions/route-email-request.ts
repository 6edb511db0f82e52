import {
  PayloadOf,
  ProviderName,
  SendRoute,
  conversationIdFor,
  emailRequestedV1,
  sendRequestedV1,
} from '@mailbridge/contracts';
import {
  AttachmentSizeLimits,
  attachmentSizeLimit,
  buildReferences,
  normalizeAddress,
} from '@mailbridge/domain-mail';
import { checkOutboundAttachments } from './attachments';
import type { ConnectionView } from './decision.types';
import { rfcMessageIdFor } from './ids';
import { messageKey, threadKey } from './thread-keys';

export type EmailRequest = PayloadOf<typeof emailRequestedV1>;
export type SendCommand = PayloadOf<typeof sendRequestedV1>;

export interface RoutingPolicy {
  readonly attachmentLimits: AttachmentSizeLimits;
  /** ATT-1 for mail the location's own sending service sends. */
  readonly locationProviderAttachmentLimitBytes: number;
  /** Message-ID domain when the email has no From address (location provider without a From). */
  readonly messageIdFallbackDomain: string;
}

export type RouteDecision =
  | {
      readonly outcome: 'send';
      readonly route: SendRoute;
      /** The connection of a mailbox route. */
      readonly connection: ConnectionView | null;
      readonly rule: string;
      readonly rfcMessageId: string;
      readonly trace: readonly string[];
    }
  | {
      readonly outcome: 'refuse';
      /** The route that would have been taken, when one was chosen. */
      readonly route: SendRoute | null;
      readonly code: string;
      readonly message: string;
      readonly rule: string;
      readonly trace: readonly string[];
    };

const PROVIDER_LABEL = { google: 'Gmail', microsoft: 'Outlook' } as const;

/** A connection complete enough to send through (a placeholder is not). */
type SendingConnection = ConnectionView & {
  provider: ProviderName;
  mailboxKey: string;
  emailNormalized: string;
};

/**
 * SND-1..SND-3 and the outbound ATT-1/ATT-2 re-check for one CRM email request: a pure function of the request, the
 * requesting user's connections in the location, and the policy. Caps (SND-4) are mail-gateway's; idempotency (SND-6)
 * is the caller's (one send per CRM message id).
 */
export function routeEmailRequest(
  request: EmailRequest,
  connections: readonly ConnectionView[],
  policy: RoutingPolicy,
): RouteDecision {
  const trace: string[] = [];
  if (request.conversationId !== conversationIdFor(request.locationId, request.contactId)) {
    return {
      outcome: 'refuse',
      route: null,
      code: 'invalid_request',
      message: `Email not sent: conversation ${request.conversationId} is not the conversation of contact ${request.contactId}`,
      rule: 'SND-1',
      trace: ['SND-1: the conversation does not belong to the contact'],
    };
  }
  const active = connections
    .filter(
      (c): c is SendingConnection =>
        c.locationId === request.locationId &&
        c.userId === request.userId &&
        c.status === 'active' &&
        c.mailboxKey !== null &&
        c.provider !== null &&
        c.emailNormalized !== null,
    )
    .sort((a, b) => a.connectionId.localeCompare(b.connectionId))[0];
  const mailboxRoute = (c: SendingConnection): SendRoute => ({
    kind: 'mailbox',
    connectionId: c.connectionId,
    provider: c.provider,
    mailboxKey: c.mailboxKey,
    fromAddress: c.emailNormalized,
  });
  const locationProvider: SendRoute = { kind: 'location_provider' };

  let route: SendRoute;
  let rule: string;
  switch (request.kind) {
    case 'individual':
      rule = 'SND-1';
      route = active ? mailboxRoute(active) : locationProvider;
      trace.push(
        active
          ? `SND-1: individual email through ${request.userId}'s active ${active.provider} connection ${active.connectionId}`
          : `SND-1: individual email, ${request.userId} has no active connection: the location provider sends it`,
      );
      break;
    case 'bulk': {
      rule = 'SND-2';
      const from = request.from ? normalizeAddress(request.from.address) : null;
      if (active?.provider === 'microsoft' && from !== null && from === active.emailNormalized) {
        route = mailboxRoute(active);
        trace.push('SND-2: bulk email from the connected Outlook address: sent from that mailbox');
      } else {
        route = locationProvider;
        trace.push(
          !active
            ? 'SND-2: bulk email without an active connection: the location provider sends it'
            : active.provider === 'google'
              ? 'SND-2: bulk email with a Gmail connection always goes through the location provider'
              : 'SND-2: bulk email whose From is blank or not the connected Outlook address: the location provider sends it',
        );
      }
      break;
    }
    case 'workflow':
      rule = 'SND-3';
      route = locationProvider;
      trace.push('SND-3: workflow email always goes through the location provider');
      break;
  }

  const limit =
    route.kind === 'mailbox'
      ? attachmentSizeLimit(route.provider, policy.attachmentLimits)
      : policy.locationProviderAttachmentLimitBytes;
  const routeName =
    route.kind === 'mailbox' ? PROVIDER_LABEL[route.provider] : "the location's sending service";
  const attachments = checkOutboundAttachments(request.attachments, limit, routeName);
  if (!attachments.ok) {
    const attRule =
      attachments.code === 'attachment_type_unsupported'
        ? 'ATT-2'
        : attachments.code === 'attachment_too_large'
          ? 'ATT-1'
          : 'ATT-3';
    return {
      outcome: 'refuse',
      route,
      code: attachments.code,
      message: attachments.message,
      rule: attRule,
      trace: [...trace, `${attRule}: refused before sending: ${attachments.message}`],
    };
  }

  const fromAddress = route.kind === 'mailbox' ? route.fromAddress : (request.from?.address ?? null);
  return {
    outcome: 'send',
    route,
    connection: route.kind === 'mailbox' ? (active ?? null) : null,
    rule,
    rfcMessageId: rfcMessageIdFor(request.messageId, fromAddress, policy.messageIdFallbackDomain),
    trace,
  };
}

/** The keys of the message a CRM reply answers, to find its thread in the sending mailbox (SND-5). */
export function replyKeys(replyTo: EmailRequest['replyTo']): string[] {
  if (!replyTo) return [];
  const keys: string[] = [];
  if (replyTo.providerThreadId) keys.push(threadKey(replyTo.providerThreadId));
  if (replyTo.rfcMessageId) keys.push(messageKey(replyTo.rfcMessageId));
  for (const ref of [...replyTo.references].reverse()) keys.push(messageKey(ref));
  return [...new Set(keys)];
}

export interface MailboxThreadKey {
  readonly bindingId: string;
  readonly key: string;
  readonly providerMessageId: string | null;
}

/**
 * SND-5: where in the sending mailbox a CRM reply goes. The provider thread id only when that thread is known in
 * this mailbox (a thread id of another mailbox means nothing here); the provider id of the message replied to, for
 * Microsoft's createReply. `threadKeys` are all keys of the bindings the reply's keys found in the route's mailbox.
 */
export function replyThreading(
  replyTo: EmailRequest['replyTo'],
  threadKeys: readonly MailboxThreadKey[],
): { providerThreadId: string | null; providerMessageId: string | null } {
  if (!replyTo) return { providerThreadId: null, providerMessageId: null };
  const stated = replyTo.providerThreadId ? threadKey(replyTo.providerThreadId) : null;
  const tKey =
    threadKeys.find((k) => k.key === stated)?.key ??
    threadKeys.find((k) => k.key.startsWith('t:'))?.key ??
    null;
  const parentKey = replyTo.rfcMessageId ? messageKey(replyTo.rfcMessageId) : null;
  const parent = parentKey ? threadKeys.find((k) => k.key === parentKey && k.providerMessageId) : undefined;
  return {
    providerThreadId: tKey ? tKey.slice(2) : null,
    providerMessageId: parent?.providerMessageId ?? null,
  };
}

/** The send command for a routed request (SND-5 threading attached). */
export function buildSendCommand(
  request: EmailRequest,
  route: SendRoute,
  rfcMessageId: string,
  thread: { providerThreadId: string | null; providerMessageId: string | null },
): SendCommand {
  const replyTo = request.replyTo;
  const references = replyTo?.rfcMessageId
    ? buildReferences({ messageId: replyTo.rfcMessageId, references: replyTo.references })
    : [];
  return {
    sendId: request.messageId,
    locationId: request.locationId,
    userId: request.userId,
    contactId: request.contactId,
    conversationId: request.conversationId,
    kind: request.kind,
    route,
    ...(route.kind === 'mailbox'
      ? {
          from:
            request.from && normalizeAddress(request.from.address) === route.fromAddress
              ? request.from
              : { address: route.fromAddress },
        }
      : request.from
        ? { from: request.from }
        : {}),
    to: request.to,
    cc: request.cc,
    bcc: request.bcc,
    subject: request.subject,
    text: request.text,
    html: request.html,
    attachments: request.attachments,
    rfcMessageId,
    inReplyTo: replyTo?.rfcMessageId ?? null,
    references,
    replyInProviderThreadId: route.kind === 'mailbox' ? thread.providerThreadId : null,
    replyToProviderMessageId: route.kind === 'mailbox' ? thread.providerMessageId : null,
    requestedAt: request.requestedAt,
  };
}
