import {
  decodeCharset,
  decodeEncodedWords,
  type Header,
  headerValue,
  parseHeaderBlock,
  parseParameterHeader,
  splitMessage,
} from './mime-headers';

/** One MIME entity: the message itself or a part of it. */
export interface MimeNode {
  /** Headers with RFC 2047 words decoded (what Gmail's `payload.headers` shows). */
  headers: Header[];
  mimeType: string;
  params: Record<string, string>;
  disposition: string;
  filename: string;
  contentId?: string;
  /** Body after Content-Transfer-Encoding decoding; empty for multipart containers. */
  body: Buffer;
  parts: MimeNode[];
}

export interface ExtractedAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
  contentId?: string;
  inline: boolean;
}

export interface ExtractedContent {
  text?: string;
  html?: string;
  attachments: ExtractedAttachment[];
}

/** Parses a raw RFC 822 message into its MIME tree. Lenient like real mail servers: it never throws on odd input. */
export function parseMime(raw: Buffer, depth = 0): MimeNode {
  const { head, body } = splitMessage(raw);
  const rawHeaders = parseHeaderBlock(head);
  const headers = rawHeaders.map((h) => ({ name: h.name, value: decodeEncodedWords(h.value) }));
  const ct = parseParameterHeader(headerValue(rawHeaders, 'content-type'));
  const mimeType = ct.value || 'text/plain';
  const cd = parseParameterHeader(headerValue(rawHeaders, 'content-disposition'));
  const filename = cd.params.filename ?? ct.params.name ?? '';
  const contentIdRaw = headerValue(rawHeaders, 'content-id');
  const node: MimeNode = {
    headers,
    mimeType,
    params: ct.params,
    disposition: cd.value,
    filename,
    contentId: contentIdRaw ? contentIdRaw.trim() : undefined,
    body: Buffer.alloc(0),
    parts: [],
  };
  if (mimeType.startsWith('multipart/') && ct.params.boundary && depth < 20) {
    node.parts = splitMultipart(body, ct.params.boundary).map((p) => parseMime(p, depth + 1));
    return node;
  }
  const cte = (headerValue(rawHeaders, 'content-transfer-encoding') ?? '7bit').trim().toLowerCase();
  node.body = decodeTransfer(body, cte);
  return node;
}

/** The parts between `--boundary` delimiter lines; the CRLF before a delimiter belongs to the delimiter. */
export function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const text = body.toString('latin1');
  const delimiter = `--${boundary}`;
  const parts: Buffer[] = [];
  let pos = 0;
  let start = -1;
  for (;;) {
    const i = text.indexOf(delimiter, pos);
    if (i === -1) break;
    const atLineStart = i === 0 || text[i - 1] === '\n';
    if (!atLineStart) {
      pos = i + delimiter.length;
      continue;
    }
    if (start !== -1) {
      let end = i;
      if (text[end - 1] === '\n') end--;
      if (text[end - 1] === '\r') end--;
      parts.push(body.subarray(start, Math.max(start, end)));
    }
    const closing = text.startsWith('--', i + delimiter.length);
    if (closing) return parts;
    const eol = text.indexOf('\n', i);
    if (eol === -1) break;
    start = eol + 1;
    pos = start;
  }
  if (start !== -1 && start < text.length) parts.push(body.subarray(start));
  return parts;
}

export function decodeTransfer(body: Buffer, encoding: string): Buffer {
  if (encoding === 'base64')
    return Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/=_-]/g, ''), 'base64');
  if (encoding === 'quoted-printable') {
    const s = body.toString('latin1').replace(/=\r?\n/g, '');
    const out: number[] = [];
    for (let i = 0; i < s.length; i++) {
      if (s[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
        out.push(parseInt(s.slice(i + 1, i + 3), 16));
        i += 2;
      } else out.push(s.charCodeAt(i) & 0xff);
    }
    return Buffer.from(out);
  }
  return body;
}

/** Text of a text/* node in its declared charset. */
export function nodeText(node: MimeNode): string {
  return decodeCharset(node.body, node.params.charset ?? 'utf-8');
}

export function isAttachment(node: MimeNode): boolean {
  if (node.parts.length > 0 || node.mimeType.startsWith('multipart/')) return false;
  if (node.disposition === 'attachment') return true;
  if (node.filename) return true;
  return !node.mimeType.startsWith('text/') && node.mimeType !== 'message/delivery-status';
}

/** Picks the first text/plain and text/html bodies and every attachment (inline ones flagged). */
export function extractContent(root: MimeNode): ExtractedContent {
  const out: ExtractedContent = { attachments: [] };
  const visit = (node: MimeNode): void => {
    if (node.parts.length > 0) {
      node.parts.forEach(visit);
      return;
    }
    if (isAttachment(node)) {
      out.attachments.push({
        filename: node.filename || 'attachment',
        contentType: node.mimeType,
        content: node.body,
        contentId: node.contentId?.replace(/^<|>$/g, ''),
        inline: node.disposition === 'inline' || (!!node.contentId && node.disposition !== 'attachment'),
      });
      return;
    }
    if (node.mimeType === 'text/html' && out.html === undefined) out.html = nodeText(node);
    else if (node.mimeType === 'text/plain' && out.text === undefined) out.text = nodeText(node);
  };
  visit(root);
  return out;
}

/** A rough HTML-to-text for snippets and `Prefer: outlook.body-content-type="text"`. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|li|tr|h[1-6])>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
