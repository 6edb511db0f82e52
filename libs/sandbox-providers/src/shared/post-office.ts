import type { Clock } from './clock';
import {
  type EmailAddress,
  parseAddressList,
  parseHeaderBlock,
  headerValue,
  splitMessage,
  rewriteHeaders,
  decodeEncodedWords,
} from './mime-headers';

export type ProviderName = 'google' | 'microsoft';

/** A sandbox mailbox as the post office sees it: something that accepts a raw RFC 822 message. */
export interface MailboxEndpoint {
  readonly provider: ProviderName;
  readonly address: string;
  receive(raw: Buffer): Promise<void> | void;
}

/** A message that left the sandbox for an address no sandbox mailbox owns (what an outside contact received). */
export interface OutboundRecord {
  at: string;
  from: string;
  recipients: string[];
  messageId?: string;
  subject?: string;
  raw: Buffer;
}

export interface DispatchResult {
  delivered: string[];
  external: string[];
}

/**
 * Routes mail between sandbox mailboxes of both providers, like the internet between Google and Microsoft:
 * a message sent by one mailbox lands in the inbox of every recipient that is another sandbox mailbox; the
 * rest is kept in the outbound log so tests can see what an outside contact would have received.
 */
export class PostOffice {
  private readonly mailboxes = new Map<string, MailboxEndpoint>();
  readonly outbound: OutboundRecord[] = [];

  constructor(private readonly clock: Clock) {}

  register(endpoint: MailboxEndpoint): void {
    const key = endpoint.address.toLowerCase();
    const existing = this.mailboxes.get(key);
    if (existing && existing !== endpoint) {
      throw new Error(`${endpoint.address} is already a ${existing.provider} sandbox mailbox`);
    }
    this.mailboxes.set(key, endpoint);
  }

  unregister(address: string): void {
    this.mailboxes.delete(address.toLowerCase());
  }

  lookup(address: string): MailboxEndpoint | undefined {
    return this.mailboxes.get(address.toLowerCase());
  }

  list(): MailboxEndpoint[] {
    return [...this.mailboxes.values()];
  }

  /**
   * Delivers a sent message. Recipients come from To/Cc/Bcc unless given; every copy loses its Bcc header and
   * gains the trace headers a receiving server adds.
   */
  async dispatch(raw: Buffer, envelope?: { from?: string; recipients?: string[] }): Promise<DispatchResult> {
    const headers = parseHeaderBlock(splitMessage(raw).head);
    const recipients =
      envelope?.recipients ??
      ['to', 'cc', 'bcc'].flatMap((h) =>
        parseAddressList(headerValue(headers, h)).map((a: EmailAddress) => a.address),
      );
    const unique = [...new Set(recipients.map((r) => r.toLowerCase()))];
    const from = envelope?.from ?? parseAddressList(headerValue(headers, 'from'))[0]?.address ?? '';
    const stripped = rewriteHeaders(raw, { Bcc: undefined });
    const result: DispatchResult = { delivered: [], external: [] };
    for (const rcpt of unique) {
      const mailbox = this.mailboxes.get(rcpt);
      if (!mailbox) {
        result.external.push(rcpt);
        continue;
      }
      await mailbox.receive(this.stamp(stripped, mailbox.address, from));
      result.delivered.push(mailbox.address);
    }
    if (result.external.length > 0) {
      this.outbound.push({
        at: new Date(this.clock.now()).toISOString(),
        from,
        recipients: result.external,
        messageId: headerValue(headers, 'message-id'),
        subject: decodeEncodedWords(headerValue(headers, 'subject') ?? ''),
        raw: stripped,
      });
    }
    return result;
  }

  /** Trace headers a receiving MTA prepends. */
  stamp(raw: Buffer, recipient: string, sender: string): Buffer {
    const date = new Date(this.clock.now()).toUTCString().replace('GMT', '+0000');
    const trace =
      `Delivered-To: ${recipient}\r\n` +
      `Received: by sandbox.mailbridge.test with SMTP id sandbox; ${date}\r\n` +
      (sender ? `Return-Path: <${sender}>\r\n` : '');
    return Buffer.concat([Buffer.from(trace, 'latin1'), raw]);
  }
}
