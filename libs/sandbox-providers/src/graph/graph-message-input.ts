// Graph request bodies for messages (drafts, replies, sendMail) and how Exchange validates and maps their parts.
import type { MicrosoftAccounts } from '../microsoft/microsoft-accounts';
import { graphError, graphErrors } from './graph-errors';
import type { GraphAttachment, GraphEmailAddress, GraphMessage } from './graph-mailbox';

export interface GraphRecipientInput {
  emailAddress?: { address?: string; name?: string };
}

export interface GraphAttachmentInput {
  '@odata.type'?: string;
  name?: string;
  contentType?: string;
  contentBytes?: string;
  isInline?: boolean;
  contentId?: string;
}

export interface GraphMessageInput {
  subject?: string;
  body?: { contentType?: string; content?: string };
  toRecipients?: GraphRecipientInput[];
  ccRecipients?: GraphRecipientInput[];
  bccRecipients?: GraphRecipientInput[];
  replyTo?: GraphRecipientInput[];
  attachments?: GraphAttachmentInput[];
  internetMessageHeaders?: { name?: string; value?: string }[];
  importance?: 'low' | 'normal' | 'high';
  isDeliveryReceiptRequested?: boolean;
  isReadReceiptRequested?: boolean;
  isRead?: boolean;
  categories?: string[];
  flag?: { flagStatus?: 'notFlagged' | 'flagged' | 'complete' };
  /** Send as one of the user's proxy addresses (checked when sent: ErrorSendAsDenied otherwise). */
  from?: GraphRecipientInput;
}

export const INLINE_ATTACHMENT_LIMIT_BYTES = 3 * 1024 * 1024;
const MAX_RECIPIENTS = 500;
const EMAIL = /^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$/;

export type ReplyKind = 'reply' | 'replyAll' | 'forward';

/** Makes an attachment with a new id (GraphService.newAttachment). */
export type NewGraphAttachment = (
  name: string,
  contentType: string,
  content: Buffer,
  isInline: boolean,
  contentId?: string,
) => GraphAttachment;

/** Recipients as Exchange resolves them: each address valid, the name from the directory when omitted. */
export function graphRecipients(
  accounts: MicrosoftAccounts,
  list: GraphRecipientInput[] | undefined,
  field: string,
): GraphEmailAddress[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw graphErrors.badRequest(`Invalid value for property '${field}'.`);
  return list.map((r) => {
    const address = r.emailAddress?.address?.trim() ?? '';
    if (!EMAIL.test(address)) {
      throw graphError(
        400,
        'ErrorInvalidRecipients',
        `At least one recipient is not valid., Recipient '${address}' is not resolved. All recipients must be resolved before a message can be submitted.`,
      );
    }
    const known = accounts.account(address);
    return { emailAddress: { name: r.emailAddress?.name ?? known?.displayName ?? address, address } };
  });
}

/** Inline (`fileAttachment`) attachments of a message body, each at most 3 MB. */
export function graphAttachments(
  list: GraphAttachmentInput[] | undefined,
  newAttachment: NewGraphAttachment,
): GraphAttachment[] {
  return (list ?? []).map((a) => {
    if (a['@odata.type'] && !/fileAttachment$/i.test(a['@odata.type'])) {
      throw graphErrors.invalidRequest(
        `Attachment type ${a['@odata.type']} is not supported by the sandbox.`,
      );
    }
    const content = Buffer.from(a.contentBytes ?? '', 'base64');
    if (content.length > INLINE_ATTACHMENT_LIMIT_BYTES) {
      throw graphError(
        413,
        'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize',
        'The attachment is larger than 3 MB; add it with an upload session (attachments/createUploadSession).',
      );
    }
    return newAttachment(
      a.name ?? 'attachment',
      a.contentType ?? 'application/octet-stream',
      content,
      !!a.isInline,
      a.contentId,
    );
  });
}

/** Only `x-` names may be set through `internetMessageHeaders`. */
export function customHeaders(
  list: GraphMessageInput['internetMessageHeaders'],
): { name: string; value: string }[] {
  return (list ?? []).map((h) => {
    const name = h.name ?? '';
    if (!/^x-/i.test(name)) {
      throw graphError(
        400,
        'InvalidInternetMessageHeader',
        `The internet message header name '${name}' should start with 'x-' or 'X-'.`,
      );
    }
    return { name, value: h.value ?? '' };
  });
}

export function checkRecipientCount(
  m: Pick<GraphMessage, 'toRecipients' | 'ccRecipients' | 'bccRecipients'>,
): void {
  const n = m.toRecipients.length + m.ccRecipients.length + m.bccRecipients.length;
  if (n > MAX_RECIPIENTS) {
    throw graphError(
      400,
      'ErrorTooManyRecipients',
      `The message has ${n} recipients; the limit is ${MAX_RECIPIENTS}.`,
    );
  }
}
