import type { IdFactory } from '../shared/id-factory';
import { extractContent, htmlToText, isAttachment, type MimeNode } from '../shared/mime-parser';

/** The Gmail API `MessagePart` resource. */
export interface MessagePart {
  partId: string;
  mimeType: string;
  filename: string;
  headers: { name: string; value: string }[];
  body: { size: number; data?: string; attachmentId?: string };
  parts?: MessagePart[];
}

export type MessageFormat = 'full' | 'metadata' | 'minimal' | 'raw';

export interface StoredGmailMessage {
  id: string;
  threadId: string;
  labelIds: Set<string>;
  raw: Buffer;
  mime: MimeNode;
  internalDate: number;
  historyId: number;
  snippet: string;
}

const ATTACHMENT_ID_PREFIX = 'ANGjdJ';

/**
 * Attachment ids are opaque and differ on every fetch at Google (so they must not be stored); they still have to
 * lead back to the part, so the id carries the message id and part id plus a random nonce.
 */
export function encodeAttachmentId(messageId: string, partId: string, ids: IdFactory): string {
  const token = Buffer.from(`${messageId}|${partId}|${ids.base64url(24)}`, 'utf8').toString('base64url');
  return `${ATTACHMENT_ID_PREFIX}${token}`;
}

export function decodeAttachmentId(attachmentId: string): { messageId: string; partId: string } | undefined {
  if (!attachmentId.startsWith(ATTACHMENT_ID_PREFIX)) return undefined;
  const [messageId, partId] = Buffer.from(attachmentId.slice(ATTACHMENT_ID_PREFIX.length), 'base64url')
    .toString('utf8')
    .split('|');
  return messageId && partId !== undefined ? { messageId, partId } : undefined;
}

export function findPart(node: MimeNode, partId: string): MimeNode | undefined {
  if (partId === '') return node;
  let current: MimeNode | undefined = node;
  for (const index of partId.split('.')) {
    current = current?.parts[Number(index)];
    if (!current) return undefined;
  }
  return current;
}

export function buildPayload(node: MimeNode, messageId: string, ids: IdFactory, partId = ''): MessagePart {
  const part: MessagePart = {
    partId,
    mimeType: node.mimeType,
    filename: node.filename,
    headers: node.headers.map((h) => ({ name: h.name, value: h.value })),
    body: { size: 0 },
  };
  if (node.parts.length > 0) {
    part.parts = node.parts.map((child, i) =>
      buildPayload(child, messageId, ids, partId === '' ? String(i) : `${partId}.${i}`),
    );
    return part;
  }
  if (isAttachment(node) && node.body.length > 0) {
    part.body = { attachmentId: encodeAttachmentId(messageId, partId, ids), size: node.body.length };
  } else if (node.body.length > 0) {
    part.body = { size: node.body.length, data: node.body.toString('base64url') };
  }
  return part;
}

/** Gmail's snippet: the start of the text, whitespace collapsed, HTML-escaped. */
export function makeSnippet(mime: MimeNode, content = extractContent(mime)): string {
  const text = content.text ?? (content.html ? htmlToText(content.html) : '');
  const collapsed = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  return collapsed.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

// A message's bytes never change: encode them once, not on every fetch (weak, so deleted messages are not kept).
const encodedRaw = new WeakMap<Buffer, string>();
function rawBase64url(m: StoredGmailMessage): string {
  let encoded = encodedRaw.get(m.raw);
  if (encoded === undefined) {
    encoded = m.raw.toString('base64url');
    encodedRaw.set(m.raw, encoded);
  }
  return encoded;
}

export function formatMessage(
  m: StoredGmailMessage,
  format: MessageFormat,
  ids: IdFactory,
  metadataHeaders: string[] = [],
): Record<string, unknown> {
  const base: Record<string, unknown> = {
    id: m.id,
    threadId: m.threadId,
    labelIds: [...m.labelIds],
    snippet: m.snippet,
    sizeEstimate: m.raw.length,
    historyId: String(m.historyId),
    internalDate: String(m.internalDate),
  };
  if (format === 'minimal') return base;
  if (format === 'raw') return { ...base, raw: rawBase64url(m) };
  if (format === 'metadata') {
    const wanted = metadataHeaders.map((h) => h.toLowerCase());
    const headers = m.mime.headers.filter(
      (h) => wanted.length === 0 || wanted.includes(h.name.toLowerCase()),
    );
    return {
      ...base,
      payload: { partId: '', mimeType: m.mime.mimeType, filename: '', headers, body: { size: 0 } },
    };
  }
  return { ...base, payload: buildPayload(m.mime, m.id, ids) };
}
