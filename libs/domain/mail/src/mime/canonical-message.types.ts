import type { MailAddress } from '../address/email-address';
import type { AttachmentType } from '../attachment/attachment-type.detector';

/**
 * One attachment of a parsed message, without its bytes (those go to the object store, ATT-3).
 * Plain JSON data, so it can be copied into events as is.
 */
export interface CanonicalAttachment {
  /** The file name the message gave, decoded (RFC 2231 / RFC 2047). */
  filename?: string;
  /** The Content-Type the message declared, lower case, without parameters. Never trusted for ATT-2. */
  declaredContentType: string;
  /** Decoded size in bytes. */
  size: number;
  /** SHA-256 of the decoded bytes, lower-case hex: the content address in the object store. */
  sha256: string;
  /** ATT-2: the type detected from the content and the name. */
  detected: AttachmentType;
  /** Content-ID without angle brackets, for `cid:` references from the HTML. */
  contentId?: string;
  /** Shown inline (an embedded image, `Content-Disposition: inline`) rather than as a file. */
  inline: boolean;
  /** The IMAP-style MIME part number ("1.2"), useful for diagnostics. */
  partId?: string;
}

/**
 * A provider-neutral parsed message: what every later step (sync rules, conversations) needs, whichever
 * provider the message came from. Plain JSON data.
 */
export interface CanonicalMessage {
  /** RFC 5322 Message-ID with angle brackets (`<id@host>`); absent when the message had none. */
  messageId?: string;
  /** The first Message-ID of `In-Reply-To`. */
  inReplyTo?: string;
  /** Every Message-ID of `References`, in header order. */
  references: string[];
  /** Decoded subject; empty string when the message had none. */
  subject: string;
  from?: MailAddress;
  /** The `Sender` header, when the message was sent on behalf of `from`. */
  sender?: MailAddress;
  replyTo: MailAddress[];
  to: MailAddress[];
  cc: MailAddress[];
  /** Only present in the sender's own copy (Sent folder) or in messages composed with the Bcc kept. */
  bcc: MailAddress[];
  /** The `Date` header as ISO 8601 UTC; absent when missing or unreadable. */
  date?: string;
  text?: string;
  /** The HTML body, `cid:` references kept (they point at `attachments[].contentId`). */
  html?: string;
  attachments: CanonicalAttachment[];
}
