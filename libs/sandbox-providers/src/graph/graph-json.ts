import { htmlToText } from '../shared/mime-parser';
import { graphErrors } from './graph-errors';
import type { GraphAttachment, GraphMailbox, GraphMessage } from './graph-mailbox';

/** Properties returned when no `$select` is given (internetMessageHeaders and uniqueBody only on request). */
export const DEFAULT_MESSAGE_PROPERTIES = [
  'createdDateTime',
  'lastModifiedDateTime',
  'changeKey',
  'categories',
  'receivedDateTime',
  'sentDateTime',
  'hasAttachments',
  'internetMessageId',
  'subject',
  'bodyPreview',
  'importance',
  'parentFolderId',
  'conversationId',
  'conversationIndex',
  'isDeliveryReceiptRequested',
  'isReadReceiptRequested',
  'isRead',
  'isDraft',
  'webLink',
  'inferenceClassification',
  'body',
  'sender',
  'from',
  'toRecipients',
  'ccRecipients',
  'bccRecipients',
  'replyTo',
  'flag',
];
const SELECTABLE = new Set([
  ...DEFAULT_MESSAGE_PROPERTIES,
  'id',
  'internetMessageHeaders',
  'uniqueBody',
  'attachments',
]);

export function graphDate(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Parses `$select`; unknown names are a 400 as at Graph. */
export function parseSelect(value: string | null | undefined): string[] | undefined {
  if (!value) return undefined;
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) {
    const known = [...SELECTABLE].find((p) => p.toLowerCase() === n.toLowerCase());
    if (!known)
      throw graphErrors.badRequest(
        `Could not find a property named '${n}' on type 'microsoft.graph.message'.`,
      );
  }
  return names.map((n) => [...SELECTABLE].find((p) => p.toLowerCase() === n.toLowerCase()) ?? n);
}

export interface MessageJsonOptions {
  immutable: boolean;
  select?: string[];
  bodyType?: 'text' | 'html';
  expandAttachments?: boolean;
  webBase: string;
}

function bodyAs(m: GraphMessage, type?: 'text' | 'html'): { contentType: string; content: string } {
  if (!type || type === m.body.contentType) return { ...m.body };
  if (type === 'text') return { contentType: 'text', content: htmlToText(m.body.content) };
  const escaped = m.body.content
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\n/g, '<br>\r\n');
  return {
    contentType: 'html',
    content: `<html><head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body><div>${escaped}</div></body></html>`,
  };
}

export function bodyPreview(m: Pick<GraphMessage, 'body'>): string {
  const text = m.body.contentType === 'html' ? htmlToText(m.body.content) : m.body.content;
  return text.replace(/\s+/g, ' ').trim().slice(0, 255);
}

export function messageId(m: GraphMessage, immutable: boolean): string {
  return immutable ? m.immutableId : m.restId;
}

export function messageJson(
  m: GraphMessage,
  mailbox: GraphMailbox,
  o: MessageJsonOptions,
): Record<string, unknown> {
  const all: Record<string, () => unknown> = {
    createdDateTime: () => graphDate(m.createdDateTime),
    lastModifiedDateTime: () => graphDate(m.lastModifiedDateTime),
    changeKey: () => m.changeKey,
    categories: () => m.categories,
    receivedDateTime: () => graphDate(m.receivedDateTime),
    sentDateTime: () => graphDate(m.sentDateTime),
    hasAttachments: () => m.attachments.some((a) => !a.isInline),
    internetMessageId: () => m.internetMessageId,
    subject: () => m.subject,
    bodyPreview: () => bodyPreview(m),
    importance: () => m.importance,
    parentFolderId: () => mailbox.folderId(m.folder),
    conversationId: () => m.conversationId,
    conversationIndex: () => m.conversationIndex.toString('base64'),
    isDeliveryReceiptRequested: () => m.isDeliveryReceiptRequested,
    isReadReceiptRequested: () => m.isReadReceiptRequested,
    isRead: () => m.isRead,
    isDraft: () => m.isDraft,
    webLink: () =>
      `${o.webBase}/owa/?ItemID=${encodeURIComponent(messageId(m, o.immutable))}&exvsurl=1&viewmodel=ReadMessageItem`,
    inferenceClassification: () => 'focused',
    body: () => bodyAs(m, o.bodyType),
    uniqueBody: () => bodyAs(m, o.bodyType),
    sender: () => m.sender ?? null,
    from: () => m.from ?? null,
    toRecipients: () => m.toRecipients,
    ccRecipients: () => m.ccRecipients,
    bccRecipients: () => m.bccRecipients,
    replyTo: () => m.replyTo,
    flag: () => m.flag,
    internetMessageHeaders: () => m.internetMessageHeaders,
    attachments: () => m.attachments.map((a) => attachmentJson(a, true)),
  };
  const out: Record<string, unknown> = { '@odata.etag': `W/"${m.changeKey}"`, id: messageId(m, o.immutable) };
  const props = o.select ?? DEFAULT_MESSAGE_PROPERTIES;
  for (const p of props) if (p !== 'id' && all[p]) out[p] = all[p]();
  if (o.expandAttachments) out.attachments = all.attachments();
  return out;
}

export function attachmentJson(a: GraphAttachment, withContent: boolean): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.fileAttachment',
    '@odata.mediaContentType': a.contentType,
    id: a.id,
    lastModifiedDateTime: a.lastModifiedDateTime,
    name: a.name,
    contentType: a.contentType,
    size: a.size,
    isInline: a.isInline,
    contentId: a.contentId ?? null,
    contentLocation: null,
    ...(withContent ? { contentBytes: a.content.toString('base64') } : {}),
  };
}
