// Input and result shapes of the sandbox control API (programmatic and HTTP `/_sandbox`).
import type { MailView } from './mail-view';

export type ProviderName = 'google' | 'microsoft';
export type AddressInput = string | { name?: string; address: string };

export interface AttachmentInput {
  filename: string;
  contentType?: string;
  /** Base64 content (the HTTP control API form). */
  contentBase64?: string;
  content?: Buffer | string;
  /** Makes it an inline part referenced as `cid:<contentId>`. */
  contentId?: string;
}

/** An email arriving from anywhere (a contact, a mailing list) into one sandbox mailbox. */
export interface InboundMessage {
  from?: AddressInput;
  to?: AddressInput[];
  cc?: AddressInput[];
  bcc?: AddressInput[];
  replyTo?: AddressInput[];
  subject?: string;
  text?: string;
  html?: string;
  attachments?: AttachmentInput[];
  /** Message-ID of the message this one answers; References are derived from it when not given. */
  inReplyTo?: string;
  references?: string[];
  messageId?: string;
  date?: string | Date;
  headers?: Record<string, string>;
  /** A complete RFC 822 message instead of the fields above. */
  raw?: string | Buffer;
  /** The same, base64-encoded (handy over HTTP). */
  rawBase64?: string;
}

/** The mailbox owner acting in the provider's own UI (Gmail web, Outlook), not through our platform. */
export interface OwnerMessage {
  to?: AddressInput[];
  cc?: AddressInput[];
  bcc?: AddressInput[];
  subject?: string;
  text?: string;
  html?: string;
  attachments?: AttachmentInput[];
  /** Reply to this message (provider id or Message-ID header) in its thread. */
  replyTo?: string;
  replyAll?: boolean;
  /** Forward this message (provider id or Message-ID header). */
  forward?: string;
}

export type MessageStateAction = 'read' | 'unread' | 'trash' | 'restore' | 'delete';

export interface MessageStateView {
  id: string;
  read: boolean;
  trashed: boolean;
  deleted: boolean;
}

/**
 * One item of a bulk delivery (`POST /_sandbox/bulk-deliver`): the envelope recipient (`mailbox`, a sandbox mailbox;
 * not `to`, which stays the To header as in {@link InboundMessage}) and the message.
 */
export interface BulkDeliveryItem extends InboundMessage {
  mailbox: string;
}

/** Per item, in input order, like the providers' batch answers: 201 with the stored message, or the item's error. */
export type BulkDeliveryResult =
  | {
      status: 201;
      mailbox: string;
      /** Provider id (Gmail message id, Graph immutable id). */
      id: string;
      /** Message-ID header, with brackets. */
      messageId?: string;
      /** When it landed in the mailbox (epoch ms): what a caller measures latency from. */
      deliveredAt: number;
    }
  | { status: 400 | 404; mailbox?: string; error: string };

export interface ControlResult {
  mailbox: string;
  message: MailView;
  delivered?: string[];
  external?: string[];
}
