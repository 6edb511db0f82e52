import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import {
  MailParser,
  type AddressObject,
  type AttachmentStream,
  type EmailAddress,
  type HeaderLines,
  type Headers,
  type MessageText,
  type StructuredHeader,
} from 'mailparser';
import { isAddrSpec, type MailAddress } from '../address/email-address';
import { DETECTION_PREFIX_BYTES, detectAttachmentType } from '../attachment/attachment-type.detector';
import { parseMessageId, parseMessageIds } from '../threading/message-id.util';
import type { CanonicalAttachment, CanonicalMessage } from './canonical-message.types';

/** What is known about an attachment before its bytes are consumed: everything but size and hash. */
export type AttachmentHead = Omit<CanonicalAttachment, 'size' | 'sha256'>;

/**
 * Receives one attachment while the message is being parsed. Read `content` (e.g. into the object store)
 * and resolve when done; the parser waits, so at most one attachment is in flight. Bytes the sink leaves
 * unread are drained (they still count for size and hash). A rejection aborts the parse.
 */
export type AttachmentSink<R> = (attachment: AttachmentHead, content: Readable) => Promise<R>;

export interface StreamingParseResult<R> {
  message: CanonicalMessage;
  /** What the sink returned, one entry per `message.attachments` entry, same order. */
  sinkResults: R[];
}

export interface BufferedParseResult {
  message: CanonicalMessage;
  /** The decoded bytes, one entry per `message.attachments` entry, same order. */
  contents: Buffer[];
}

/** Limits that keep a hostile message from exhausting the parser (mailparser's own knobs). */
export interface ParseMimeOptions {
  /** Largest header block of one MIME part, bytes. Default 1 MiB. */
  maxHeadSize?: number;
  /** Most MIME parts in a message. Default 1000. */
  maxChildNodes?: number;
}

/**
 * Parses raw RFC 822 bytes into the canonical message, attachment bytes buffered in memory. Fine for
 * messages already in memory (provider `raw` formats are size-capped); use {@link parseMimeStreaming} to
 * hand big attachments to storage without holding them.
 */
export async function parseMime(
  raw: Buffer | Readable,
  options: ParseMimeOptions = {},
): Promise<BufferedParseResult> {
  const { message, sinkResults } = await parseMimeStreaming(
    raw,
    async (_head, content) => {
      const chunks: Buffer[] = [];
      for await (const chunk of content) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    options,
  );
  return { message, contents: sinkResults };
}

/**
 * Parses raw RFC 822 bytes (a Buffer or a stream of them), handing each attachment's bytes to `sink` as a
 * stream. SHA-256, size and the content-based type (ATT-2, from the first {@link DETECTION_PREFIX_BYTES})
 * are computed on the way; the type is already known when the sink is called.
 */
export function parseMimeStreaming<R>(
  raw: Buffer | Readable,
  sink: AttachmentSink<R>,
  options: ParseMimeOptions = {},
): Promise<StreamingParseResult<R>> {
  return new Promise<StreamingParseResult<R>>((resolve, reject) => {
    const parser = new MailParser({
      // We hash with SHA-256 ourselves, as the bytes pass.
      checksumAlgo: false,
      skipTextToHtml: true,
      skipImageLinks: true,
      maxHeadSize: options.maxHeadSize,
      maxChildNodes: options.maxChildNodes,
    });
    let headers: Headers | undefined;
    let headerLines: HeaderLines = [];
    let body: MessageText | undefined;
    const attachments: CanonicalAttachment[] = [];
    const sinkResults: R[] = [];
    let settled = false;
    let reading = false;

    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      if (!Buffer.isBuffer(raw)) raw.destroy();
      parser.destroy();
      reject(error instanceof Error ? error : new Error(String(error)));
    };

    const readAll = async (): Promise<void> => {
      if (reading) return;
      reading = true;
      try {
        for (let data = parser.read(); data !== null && !settled; data = parser.read()) {
          if (data.type === 'text') {
            body = data;
          } else if (data.type === 'attachment') {
            const { attachment, result } = await consumeAttachment(data, sink);
            attachments.push(attachment);
            sinkResults.push(result);
            data.release?.();
          }
        }
      } catch (error) {
        fail(error);
      } finally {
        reading = false;
      }
    };

    parser.on('headers', (h: Headers) => {
      headers = h;
      headerLines = parser.headerLines || [];
    });
    parser.on('readable', () => void readAll());
    parser.on('error', fail);
    parser.on('end', () => {
      if (settled) return;
      settled = true;
      resolve({ message: toCanonical(headers ?? new Map(), headerLines, body, attachments), sinkResults });
    });

    if (Buffer.isBuffer(raw)) {
      parser.end(raw);
    } else {
      raw.once('error', fail);
      raw.pipe(parser);
    }
  });
}

async function consumeAttachment<R>(
  part: AttachmentStream,
  sink: AttachmentSink<R>,
): Promise<{ attachment: CanonicalAttachment; result: R }> {
  const source = part.content[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const hash = createHash('sha256');
  let size = 0;

  // Read the head first, so the detected type is known before the sink decides what to do.
  const headChunks: Buffer[] = [];
  let headLength = 0;
  let ended = false;
  while (headLength < DETECTION_PREFIX_BYTES) {
    const next = await source.next();
    if (next.done) {
      ended = true;
      break;
    }
    headChunks.push(next.value);
    headLength += next.value.length;
  }
  const head = Buffer.concat(headChunks, headLength);

  const declared = part.headers.get('content-type') as StructuredHeader | undefined;
  const info: AttachmentHead = {
    ...(part.filename ? { filename: part.filename } : {}),
    declaredContentType: (declared?.value || part.contentType || 'application/octet-stream').toLowerCase(),
    detected: detectAttachmentType(head.subarray(0, DETECTION_PREFIX_BYTES), part.filename),
    ...(part.cid ? { contentId: part.cid } : {}),
    inline: part.contentDisposition === 'inline' || part.related === true,
    ...(part.partId ? { partId: part.partId } : {}),
  };

  const out = new PassThrough();
  // The sink owns `out`; its errors reach the sink's own reader. Keep them from crashing the process.
  out.on('error', () => undefined);
  const write = async (chunk: Buffer): Promise<void> => {
    hash.update(chunk);
    size += chunk.length;
    if (!out.destroyed && !out.write(chunk)) await drainedOrClosed(out);
  };
  const pump = (async () => {
    if (head.length > 0) await write(head);
    while (!ended) {
      const next = await source.next();
      if (next.done) break;
      await write(next.value);
    }
    out.end();
  })();
  // A sink failure aborts the parse; the pump is then abandoned with the parser.
  pump.catch(() => undefined);

  const result = await sink(info, out);
  // Whatever the sink left unread is drained here, so hashing completes and the parser can go on.
  out.resume();
  await pump;
  return { attachment: { ...info, size, sha256: hash.digest('hex') }, result };
}

function drainedOrClosed(stream: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

function toCanonical(
  headers: Headers,
  headerLines: HeaderLines,
  body: MessageText | undefined,
  attachments: CanonicalAttachment[],
): CanonicalMessage {
  const text = (key: string): string | undefined => {
    const value = headers.get(key);
    if (typeof value === 'string') return value;
    if (Array.isArray(value) && value.every((v) => typeof v === 'string'))
      return (value as string[]).join(' ');
    return undefined;
  };
  const from = addresses(headers.get('from'))[0];
  const sender = addresses(headers.get('sender'))[0];
  const messageId = parseMessageId(text('message-id'));
  const inReplyTo = parseMessageId(text('in-reply-to'));
  const date = rawDate(headerLines);
  return {
    ...(messageId ? { messageId } : {}),
    ...(inReplyTo ? { inReplyTo } : {}),
    references: parseMessageIds(text('references')),
    subject: text('subject') ?? '',
    ...(from ? { from } : {}),
    ...(sender ? { sender } : {}),
    replyTo: addresses(headers.get('reply-to')),
    to: addresses(headers.get('to')),
    cc: addresses(headers.get('cc')),
    bcc: addresses(headers.get('bcc')),
    ...(date ? { date } : {}),
    ...(body?.text !== undefined ? { text: body.text } : {}),
    ...(body?.html !== undefined ? { html: body.html } : {}),
    attachments,
  };
}

function isAddressObject(value: unknown): value is AddressObject {
  return typeof value === 'object' && value !== null && Array.isArray((value as AddressObject).value);
}

/** Flattens mailparser's address objects (several headers, groups) into our mailboxes. */
function addresses(value: unknown): MailAddress[] {
  const objects = (Array.isArray(value) ? value : [value]).filter(isAddressObject);
  const out: MailAddress[] = [];
  const visit = (entries: EmailAddress[]): void => {
    for (const entry of entries) {
      if (entry.group) visit(entry.group);
      else {
        // Same rule as header parsing: `@`-less leftovers (a bare name) are not mailboxes.
        const address = (entry.address ?? '').trim();
        const name = entry.name.trim();
        if (isAddrSpec(address)) out.push(name ? { name, address } : { address });
      }
    }
  };
  for (const object of objects) visit(object.value);
  return out;
}

/** The `Date` header as ISO 8601; mailparser substitutes "now" for an unreadable date, we prefer nothing. */
function rawDate(headerLines: HeaderLines): string | undefined {
  const line = headerLines.find((h) => h.key === 'date')?.line;
  if (!line) return undefined;
  const value = line
    .slice(line.indexOf(':') + 1)
    .replace(/\r?\n[ \t]+/g, ' ')
    .trim();
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
