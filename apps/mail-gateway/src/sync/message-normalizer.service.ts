import { Readable } from 'node:stream';
import { Inject, Injectable, Optional } from '@nestjs/common';
import {
  MAX_INLINE_BODY_CHARS,
  emailAddress,
  storableDeep,
  type CanonicalMessage,
  type MailboxAddress,
  type ProviderName,
} from '@mailbridge/contracts';
import {
  classifyMessage,
  headerBlockOf,
  parseMimeStreaming,
  readPrefix,
  type BounceReport,
  type MailAddress,
} from '@mailbridge/domain-mail';
import type { ObjectStore, StoredObject } from '@mailbridge/platform-object-store';
import { OBJECT_STORE } from '../common/tokens';
import { MAIL_GATEWAY_CONFIG, type MailGatewayConfig } from '../mail-gateway.config';
import { MessageExcludedError } from '../exclusions/message-excluded.error';
import { SyncExclusionScreen, type ExclusionCheck } from '../exclusions/sync-exclusion.screen';

/** Our own header on mail sent through the platform (SYN-5: the Sent copy is recognised by it). */
export const MAILBRIDGE_REF_HEADER = 'X-Mailbridge-Ref';

/** A raw message from anywhere: a mailbox pull, or the smart-BCC SMTP receiver. */
export interface RawMessageSource {
  readonly provider: ProviderName;
  readonly providerMessageId: string;
  readonly providerThreadId: string | null;
  /** When the provider (or receiver) accepted it. */
  readonly receivedAt: Date;
  readonly labels: readonly string[];
  /** In the Sent folder / has the SENT label. */
  readonly inSent: boolean;
  /** RFC 822 bytes in memory, or a stream (stored first, then parsed back from the store, so always kept). */
  readonly raw: Buffer | Readable;
  /** Keep the raw whatever STORE_RAW_MESSAGES says: no provider holds this message for us (smart-BCC mail). */
  readonly keepRaw?: boolean;
}

export interface NormalizedMessage {
  readonly message: CanonicalMessage;
  readonly direction: 'inbound' | 'outbound';
  readonly inSent: boolean;
  readonly labels: string[];
}

const HEAD_SCAN_BYTES = 256 * 1024;
const MAX_REFERENCES = 200;
const MAX_ADDRESSES = 1000;

/** The value of one top-level header, unfolded; undefined when absent. */
export function headerFromHead(head: Buffer, name: string): string | undefined {
  // Only the header block is decoded (issue 16): the head may be 256 KB of attachment.
  const block = headerBlockOf(head)
    .toString('latin1')
    .replace(/\r?\n[ \t]+/g, ' ');
  const wanted = name.toLowerCase();
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === wanted)
      return line.slice(colon + 1).trim();
  }
  return undefined;
}

function truncate(text: string | undefined, max: number): { value: string | null; truncated: boolean } {
  if (text === undefined) return { value: null, truncated: false };
  return text.length > max
    ? { value: text.slice(0, max), truncated: true }
    : { value: text, truncated: false };
}

/** Addresses the event contract accepts (a quoted local part with spaces, say, cannot be matched anyway). */
function addresses(list: readonly MailAddress[] | undefined): MailboxAddress[] {
  const out: MailboxAddress[] = [];
  for (const a of list ?? []) {
    if (out.length >= MAX_ADDRESSES || !emailAddress.safeParse(a.address).success) continue;
    out.push(a.name ? { name: a.name.slice(0, 512), address: a.address } : { address: a.address });
  }
  return out;
}

const messageId = (id: string | undefined): string | null => (id && id.length <= 998 ? id : null);

/** Keeps the root and the most recent ids, as threaders need (RFC 5322 §3.6.4 trimming). */
function references(ids: readonly string[]): string[] {
  const valid = ids.filter((id) => id.length <= 998);
  return valid.length <= MAX_REFERENCES
    ? valid
    : [valid[0], ...valid.slice(valid.length - (MAX_REFERENCES - 1))];
}

/** SYN-9: the classifier's bounce report, cut to the contract's limits. */
function bounceReport(b: BounceReport): NonNullable<CanonicalMessage['bounce']> {
  return {
    format: b.format,
    recipients: b.recipients.slice(0, 50).map((r) => ({ ...r })),
    status: b.status,
    diagnostic: b.diagnostic,
    originalMessageId: messageId(b.originalMessageId ?? undefined),
  };
}

/**
 * Turns a raw message into the canonical, provider-neutral message of `message.observed`: every attachment goes to
 * the object store (content-addressed, streamed, ATT-3), bodies are inlined up to the contract's limit, and the
 * direction is decided relative to the mailbox owner. The raw RFC 822 is stored (and named as `rawObjectKey`) when
 * STORE_RAW_MESSAGES is on, for smart-BCC mail (`keepRaw`: no provider keeps it), and when it arrives as a stream
 * (spooled through the store and parsed back). The one entry point for every source of mail (pulls, smart-BCC).
 */
@Injectable()
export class MessageNormalizer {
  private readonly storeRaw: boolean;

  constructor(
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Optional() private readonly exclusions?: SyncExclusionScreen,
    @Optional() @Inject(MAIL_GATEWAY_CONFIG) config?: Pick<MailGatewayConfig, 'STORE_RAW_MESSAGES'>,
  ) {
    this.storeRaw = config?.STORE_RAW_MESSAGES ?? false;
  }

  /**
   * `screen`: the page's SYN-8 check ({@link pageScreen}), so a page reads the exclusion lists once; without it the
   * lists are read for this message alone.
   */
  async normalize(
    input: RawMessageSource,
    ownerAddress: string,
    screen?: ExclusionCheck,
  ): Promise<NormalizedMessage> {
    const source = await this.refuseExcluded(input, ownerAddress, screen);
    const { raw, head, body } = await this.rawOf(source.raw, this.storeRaw || source.keepRaw === true);
    const { message: parsed, sinkResults } = await parseMimeStreaming(body, (attachment, content) =>
      this.store.put(content, { contentType: attachment.detected.mimeType }),
    );

    const text = truncate(parsed.text, MAX_INLINE_BODY_CHARS);
    const html = truncate(parsed.html, MAX_INLINE_BODY_CHARS);
    const from = addresses(parsed.from ? [parsed.from] : [])[0] ?? null;
    const sender = addresses(parsed.sender ? [parsed.sender] : [])[0];
    const ref = headerFromHead(head, MAILBRIDGE_REF_HEADER);
    // SYN-9: who wrote it, from the headers and report parts (the head holds them; a bounce is small).
    const classified = classifyMessage(head);
    const owner = ownerAddress.toLowerCase();
    const direction = source.inSent || from?.address.toLowerCase() === owner ? 'outbound' : 'inbound';

    // Everything below comes from a stranger's bytes: made storable (NUL, lone surrogates → U+FFFD) after every cut,
    // as one walk over the whole message, so no field added later can miss it. The raw MIME above stays byte-exact.
    const message: CanonicalMessage = storableDeep<CanonicalMessage>({
      provider: source.provider,
      providerMessageId: source.providerMessageId,
      providerThreadId: source.providerThreadId || null,
      rfcMessageId: messageId(parsed.messageId),
      inReplyTo: messageId(parsed.inReplyTo),
      references: references(parsed.references),
      from,
      ...(sender ? { sender } : {}),
      replyTo: addresses(parsed.replyTo).slice(0, 100),
      to: addresses(parsed.to),
      cc: addresses(parsed.cc),
      bcc: addresses(parsed.bcc),
      subject: parsed.subject.slice(0, 4096),
      text: text.value,
      html: html.value,
      bodyTruncated: text.truncated || html.truncated,
      sentAt: parsed.date ?? null,
      receivedAt: source.receivedAt.toISOString(),
      attachments: parsed.attachments.slice(0, 500).map((a, i) => ({
        objectKey: sinkResults[i].key,
        filename: (a.filename ?? '').slice(0, 1024),
        contentType: a.declaredContentType.slice(0, 255),
        detectedKind: a.detected.kind,
        size: a.size,
        sha256: a.sha256,
        ...(a.contentId && a.contentId.length <= 998 ? { contentId: a.contentId } : {}),
        inline: a.inline,
      })),
      ...(raw ? { rawObjectKey: raw.key } : {}),
      ...(ref ? { mailbridgeRef: ref.slice(0, 200) } : {}),
      classification: classified.classification,
      ...(classified.bounce ? { bounce: bounceReport(classified.bounce) } : {}),
    });
    return {
      message,
      direction,
      inSent: source.inSent,
      labels: storableDeep(source.labels.slice(0, 100).map((l) => l.slice(0, 256))),
    };
  }

  /**
   * The raw message's head and body to parse, and its stored copy when there is one. Bytes in memory are stored only
   * when `keep` (issue 16: no service reads them, a mailbox's provider keeps the original); a stream is spooled
   * through the store either way and parsed back from it.
   */
  private async rawOf(
    source: Buffer | Readable,
    keep: boolean,
  ): Promise<{ raw?: StoredObject; head: Buffer; body: Buffer | Readable }> {
    const options = { contentType: 'message/rfc822' };
    if (Buffer.isBuffer(source)) {
      const raw = keep ? await this.store.put(source, options) : undefined;
      return { raw, head: source.subarray(0, HEAD_SCAN_BYTES), body: source };
    }
    const raw = await this.store.put(source, options);
    const head = await readPrefix(await this.store.get(raw.key), HEAD_SCAN_BYTES);
    return { raw, head, body: await this.store.get(raw.key) };
  }

  /** One SYN-8 check for the messages of one page of a mailbox (the lists are read once, on first use). */
  pageScreen(provider: ProviderName, ownerAddress: string): ExclusionCheck | undefined {
    return this.exclusions?.forMailbox(mailboxKeyOf(provider, ownerAddress), ownerAddress);
  }

  /**
   * SYN-8, before anything is stored: the header block is screened against the exclusion lists of the mailbox's
   * connections; an excluded message throws {@link MessageExcludedError} (the raw MIME never reaches the store). A
   * streamed source is read up to its header block and handed on whole.
   */
  private async refuseExcluded(
    source: RawMessageSource,
    ownerAddress: string,
    pageScreen?: ExclusionCheck,
  ): Promise<RawMessageSource> {
    const screen = pageScreen ?? this.pageScreen(source.provider, ownerAddress);
    if (!screen) return source;
    const { head, raw } = Buffer.isBuffer(source.raw)
      ? { head: source.raw.subarray(0, HEAD_SCAN_BYTES), raw: source.raw }
      : await peekHeaderBlock(source.raw, HEAD_SCAN_BYTES);
    const verdict = await screen(head);
    if (verdict) {
      if (!Buffer.isBuffer(raw)) raw.destroy();
      throw new MessageExcludedError(verdict);
    }
    return { ...source, raw };
  }
}

const mailboxKeyOf = (provider: ProviderName, ownerAddress: string): string =>
  `${provider}:${ownerAddress.toLowerCase()}`;

/** Reads a stream until its header block ended (or `max` bytes); returns those bytes and a stream of the whole. */
async function peekHeaderBlock(stream: Readable, max: number): Promise<{ head: Buffer; raw: Readable }> {
  const iterator: AsyncIterator<unknown> = stream[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < max) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as string);
    chunks.push(chunk);
    length += chunk.length;
    const seen = Buffer.concat(chunks, length);
    if (seen.includes('\r\n\r\n') || seen.includes('\n\n')) break;
  }
  async function* whole(): AsyncGenerator<Buffer> {
    yield* chunks;
    if (ended) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as string);
    }
  }
  return { head: Buffer.concat(chunks, length).subarray(0, max), raw: Readable.from(whole()) };
}
