// Mail the control API writes into sandbox mailboxes: inbound delivery and the owner sending from the provider's UI.
import { composeMessage, type ComposeAttachment } from '../shared/mime-composer';
import {
  type EmailAddress,
  headerValue,
  parseAddressList,
  parseHeaderBlock,
  parseMessageIds,
  splitMessage,
} from '../shared/mime-headers';
import { extractContent } from '../shared/mime-parser';
import { forwardSubject, replySubject } from '../shared/subject';
import type { GmailMailbox, GmailMessage } from '../gmail/gmail-mailbox';
import type { GraphMailbox, GraphMessage } from '../graph/graph-mailbox';
import type {
  AddressInput,
  AttachmentInput,
  ControlResult,
  InboundMessage,
  OwnerMessage,
} from './control-types';
import { gmailMailView, graphMailView } from './mail-view';
import type { SandboxState } from './sandbox-state';

const toAddress = (a: AddressInput): EmailAddress =>
  typeof a === 'string'
    ? (parseAddressList(a)[0] ?? { name: '', address: a })
    : { name: a.name ?? '', address: a.address };

function attachments(list: AttachmentInput[] | undefined): ComposeAttachment[] {
  return (list ?? []).map((a) => ({
    filename: a.filename,
    contentType: a.contentType,
    content: a.content !== undefined ? Buffer.from(a.content) : Buffer.from(a.contentBase64 ?? '', 'base64'),
    contentId: a.contentId,
  }));
}

export function bracket(id: string): string {
  const t = id.trim();
  return t.startsWith('<') ? t : `<${t}>`;
}

/** A Gmail message by provider id or Message-ID header. */
export function gmailByHeader(mb: GmailMailbox, idOrHeader: string): GmailMessage | undefined {
  const direct = mb.messages.get(idOrHeader);
  if (direct) return direct;
  const wanted = bracket(idOrHeader).toLowerCase();
  return [...mb.messages.values()].find((m) => m.messageIdHeader?.toLowerCase() === wanted);
}

/** Delivers an inbound email into `address` (the envelope recipient), whatever its To header says. */
export async function deliverInbound(
  s: SandboxState,
  address: string,
  target: { gmail?: GmailMailbox; graph?: GraphMailbox },
  input: InboundMessage,
): Promise<ControlResult> {
  const stored = await storeInbound(s, address, target, input);
  return stored.gmail
    ? { mailbox: stored.mailbox, message: gmailMailView(stored.gmail) }
    : { mailbox: stored.mailbox, message: graphMailView(stored.graph) };
}

/** What {@link storeInbound} stored: the provider's own message (a bulk delivery answers without a full view). */
export type StoredInbound =
  | { mailbox: string; gmail: GmailMessage; graph?: undefined }
  | { mailbox: string; gmail?: undefined; graph: GraphMessage };

/** The delivery itself (compose, trace headers, the provider's receive: history, threading, notifications). */
export async function storeInbound(
  s: SandboxState,
  address: string,
  target: { gmail?: GmailMailbox; graph?: GraphMailbox },
  input: InboundMessage,
): Promise<StoredInbound> {
  const { gmail, graph } = target;
  let raw: Buffer;
  if (input.raw !== undefined || input.rawBase64 !== undefined) {
    raw = input.raw !== undefined ? Buffer.from(input.raw) : Buffer.from(input.rawBase64 ?? '', 'base64');
  } else {
    const from = toAddress(input.from ?? 'contact@example.com');
    const inReplyTo = input.inReplyTo ? bracket(input.inReplyTo) : undefined;
    let references = input.references?.map(bracket);
    if (!references && inReplyTo) {
      const parent = gmail ? gmailByHeader(gmail, inReplyTo) : graph?.byInternetMessageId(inReplyTo);
      const parentRefs = parent
        ? 'mime' in parent
          ? parseMessageIds(headerValue(parent.mime.headers, 'references'))
          : parent.references
        : [];
      references = [...parentRefs.filter((r) => r !== inReplyTo), inReplyTo];
    }
    const domain = from.address.split('@')[1] ?? 'example.com';
    raw = await composeMessage({
      from,
      to: (input.to ?? [address]).map(toAddress),
      cc: input.cc?.map(toAddress),
      bcc: input.bcc?.map(toAddress),
      replyTo: input.replyTo?.map(toAddress),
      subject: input.subject ?? '',
      text: input.text,
      html: input.html,
      attachments: attachments(input.attachments),
      messageId: input.messageId
        ? bracket(input.messageId)
        : `<${s.ids.alphanumeric(24)}.${s.ids.hex(8)}@${domain}>`,
      inReplyTo,
      references,
      date: input.date ? new Date(input.date) : new Date(s.clock.now()),
      headers: input.headers,
      keepBcc: false,
    });
  }
  const fromHeader = parseAddressList(headerValue(parseHeadersOf(raw), 'from'))[0]?.address ?? '';
  const stamped = s.postOffice.stamp(raw, address, fromHeader);
  if (gmail) return { mailbox: gmail.address, gmail: s.gmail.receive(gmail, stamped) };
  const box = graph as GraphMailbox;
  return { mailbox: box.address, graph: s.graph.receive(box, stamped) };
}

/** The owner sends from the Gmail web UI: a new message, a reply in the thread, or a forward. */
export async function sendFromGmail(
  s: SandboxState,
  mb: GmailMailbox,
  input: OwnerMessage,
): Promise<ControlResult> {
  const refId = input.replyTo ?? input.forward;
  const original = refId ? gmailByHeader(mb, refId) : undefined;
  if (refId && !original) throw new Error(`no message ${refId} in ${mb.address}`);
  let to = input.to?.map(toAddress) ?? [];
  let cc = input.cc?.map(toAddress) ?? [];
  let subject = input.subject;
  let inReplyTo: string | undefined;
  let references: string[] | undefined;
  let extra: ComposeAttachment[] = [];
  if (original) {
    const h = original.mime.headers;
    const originalRefs = parseMessageIds(headerValue(h, 'references'));
    if (original.messageIdHeader) {
      inReplyTo = original.messageIdHeader;
      references = [...originalRefs, original.messageIdHeader];
    }
    if (input.replyTo) {
      subject ??= replySubject(headerValue(h, 'subject'));
      const own = original.labelIds.has('SENT');
      const replyTargets = parseAddressList(headerValue(h, 'reply-to'));
      if (to.length === 0)
        to = own
          ? parseAddressList(headerValue(h, 'to'))
          : replyTargets.length > 0
            ? replyTargets
            : parseAddressList(headerValue(h, 'from'));
      if (input.replyAll) {
        const self = mb.address.toLowerCase();
        to = dedupe([...to, ...parseAddressList(headerValue(h, 'to'))]).filter(
          (a) => a.address.toLowerCase() !== self,
        );
        cc = dedupe([...cc, ...parseAddressList(headerValue(h, 'cc'))]).filter(
          (a) => a.address.toLowerCase() !== self,
        );
      }
    } else {
      subject ??= forwardSubject(headerValue(h, 'subject'));
      extra = extractContent(original.mime).attachments.map((a) => ({
        filename: a.filename,
        contentType: a.contentType,
        content: a.content,
        contentId: a.inline ? a.contentId : undefined,
      }));
    }
  }
  const raw = await composeMessage({
    from: { name: mb.displayName, address: mb.address },
    to,
    cc,
    bcc: input.bcc?.map(toAddress),
    subject: subject ?? '',
    text: input.text,
    html: input.html,
    attachments: [...attachments(input.attachments), ...extra],
    messageId: `<CA${s.ids.alphanumeric(20)}+${s.ids.alphanumeric(24)}@mail.gmail.com>`,
    inReplyTo,
    references,
    date: new Date(s.clock.now()),
    keepBcc: true,
  });
  // The Gmail UI always keeps a reply in its conversation (the thread rule then holds by construction).
  const outcome = await s.gmail.send(mb, raw, original?.threadId);
  return {
    mailbox: mb.address,
    message: gmailMailView(outcome.message),
    delivered: outcome.delivered,
    external: outcome.external,
  };
}

/** The owner sends from Outlook: Graph's reply/forward drafts keep the conversation. */
export async function sendFromOutlook(
  s: SandboxState,
  mb: GraphMailbox,
  input: OwnerMessage,
): Promise<ControlResult> {
  const refId = input.replyTo ?? input.forward;
  const recipients = (l?: AddressInput[]) => l?.map((a) => ({ emailAddress: toAddress(a) }));
  const files = attachments(input.attachments).map((a) => ({
    '@odata.type': '#microsoft.graph.fileAttachment',
    name: a.filename,
    contentType: a.contentType,
    contentBytes: a.content.toString('base64'),
    isInline: !!a.contentId,
    contentId: a.contentId,
  }));
  const body =
    input.html !== undefined
      ? { contentType: 'html', content: input.html }
      : { contentType: 'text', content: input.text ?? '' };
  let draft: GraphMessage;
  if (refId) {
    const original = mb.byId(refId) ?? mb.byInternetMessageId(bracket(refId));
    if (!original) throw new Error(`no message ${refId} in ${mb.address}`);
    const kind = input.forward ? 'forward' : input.replyAll ? 'replyAll' : 'reply';
    draft = s.graph.createReply(mb, original, kind, {
      message: {
        body,
        ...(input.subject ? { subject: input.subject } : {}),
        ...(input.to ? { toRecipients: recipients(input.to) } : {}),
        ...(input.cc ? { ccRecipients: recipients(input.cc) } : {}),
        ...(input.bcc ? { bccRecipients: recipients(input.bcc) } : {}),
        ...(files.length > 0 ? { attachments: files } : {}),
      },
    });
  } else {
    draft = s.graph.createDraft(mb, {
      subject: input.subject,
      body,
      toRecipients: recipients(input.to),
      ccRecipients: recipients(input.cc),
      bccRecipients: recipients(input.bcc),
      attachments: files,
    });
  }
  const before = s.postOffice.outbound.length;
  await s.graph.sendDraft(mb, draft);
  const external = s.postOffice.outbound.slice(before).flatMap((o) => o.recipients);
  return { mailbox: mb.address, message: graphMailView(draft), external };
}

function dedupe(list: EmailAddress[]): EmailAddress[] {
  const seen = new Set<string>();
  return list.filter((a) => {
    const k = a.address.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function parseHeadersOf(raw: Buffer) {
  return parseHeaderBlock(splitMessage(raw).head);
}
