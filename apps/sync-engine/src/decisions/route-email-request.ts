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
  buildReferences,
  chooseSendRoute,
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

/** A connection complete enough to send through (a placeholder is not). */
type SendingConnection = ConnectionView & {
  provider: ProviderName;
  mailboxKey: string;
  emailNormalized: string;
};

/**
 * Routes one CRM email request: a pure function of the request, the requesting user's connections in the location,
 * and the policy. The rules themselves live in libs/domain/mail, shared with conversations: SND-1..3 in
 * `chooseSendRoute`, the outbound ATT-1/ATT-2 re-check in `checkAttachments`. Caps (SND-4) are checked by
 * conversations before accepting and by mail-gateway before sending (`decideSendingCap`); idempotency (SND-6) is the
 * caller's (one send per CRM message id).
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

  // SND-1..3 are decided in one place for every service (libs/domain/mail); this only finds the user's connection.
  const choice = chooseSendRoute(
    request.kind,
    request.from?.address,
    active ? { provider: active.provider, address: active.emailNormalized } : null,
  );
  const rule = choice.rule;
  const route: SendRoute = choice.via === 'mailbox' && active ? mailboxRoute(active) : locationProvider;
  trace.push(route.kind === 'mailbox' ? `${choice.trace} (${active?.connectionId ?? ''})` : choice.trace);

  const attachments = checkOutboundAttachments(
    request.attachments,
    route.kind === 'mailbox' ? route.provider : 'location_provider',
    { ...policy.attachmentLimits, location_provider: policy.locationProviderAttachmentLimitBytes },
  );
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
          // SND-7: an individual send may carry a send-as alias of the mailbox; mail-gateway checks it against the
          // mailbox's verified addresses (decideSendAs) before the provider call.
          from:
            request.from &&
            (request.kind === 'individual' || normalizeAddress(request.from.address) === route.fromAddress)
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
