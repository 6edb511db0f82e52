import { z } from 'zod';
import { SUPPORTED_ATTACHMENT_KINDS } from './attachment-type.detector';

/** The mailbox providers; matches the provider names used across the platform. */
export type MailProvider = 'google' | 'microsoft';

/**
 * Sizes are binary megabytes: 1 MB = 1024 * 1024 bytes, everywhere in the platform. Microsoft's 3 MB line
 * (Graph inline attachments) and Gmail's 25 MB are both read that way, which errs on the generous side by
 * under 5% and keeps one meaning for "MB" in limits, errors and notes.
 */
export const MB = 1024 * 1024;

/** ATT-1 defaults: 3 MB per attachment for Outlook / Microsoft 365, 25 MB for Gmail. */
export const DEFAULT_ATTACHMENT_SIZE_LIMITS: Readonly<Record<MailProvider, number>> = Object.freeze({
  google: 25 * MB,
  microsoft: 3 * MB,
});

/**
 * Who sends or received the mail an attachment travels with: a mailbox provider, or (outbound only) the location's
 * own sending service, which has a limit of its own.
 */
export type AttachmentSender = MailProvider | 'location_provider';

/** ATT-1 default for mail the location's own sending service sends. */
export const DEFAULT_LOCATION_PROVIDER_ATTACHMENT_LIMIT = 25 * MB;

/** Per-sender overrides, in bytes (e.g. from configuration). */
export type AttachmentSizeLimits = Partial<Record<AttachmentSender, number>>;

/** Validates limit overrides from configuration: positive whole numbers of bytes. */
export const attachmentSizeLimitsSchema = z
  .object({
    google: z.number().int().positive().optional(),
    microsoft: z.number().int().positive().optional(),
  })
  .strict();

/**
 * ATT-1 inbound policy for a message carrying an oversized attachment: `skip` (the default, the product
 * documents' behaviour) does not sync the message; `strip` syncs it and leaves the attachment behind.
 */
export type OversizedAttachmentPolicy = 'skip' | 'strip';
export const DEFAULT_OVERSIZED_ATTACHMENT_POLICY: OversizedAttachmentPolicy = 'skip';

export type AttachmentDirection = 'inbound' | 'outbound';

/** Reason codes, shared with events and API errors. */
export type AttachmentReasonCode = 'attachment_too_large' | 'attachment_type_unsupported';

/** What the check needs to know about an attachment (a `CanonicalAttachment` fits). */
export interface AttachmentToCheck {
  filename?: string;
  size: number;
  /** The content-based detection (ATT-2). */
  detected: { supported: boolean };
}

export interface AttachmentCheckOptions {
  /** Whose limit applies (ATT-1): the mailbox provider, or the location provider for an outbound send. */
  provider: AttachmentSender;
  limits?: AttachmentSizeLimits;
  policy?: OversizedAttachmentPolicy;
}

export interface AttachmentVerdict {
  index: number;
  filename?: string;
  size: number;
  /** `oversized` wins when an attachment is both too large and of an unsupported type. */
  status: 'ok' | 'oversized' | 'unsupported';
  /** Every problem found, most serious first. Empty when `ok`. */
  reasons: AttachmentReasonCode[];
  /** `keep`: store / send it. `leave_behind`: the message syncs without it, with `note` shown instead. */
  action: 'keep' | 'leave_behind';
  /** Human-readable note for a left-behind or refused attachment. */
  note?: string;
}

export interface AttachmentCheckResult {
  /**
   * `accept`: sync the message (inbound) or send it (outbound), keeping the attachments marked `keep`.
   * `skip`: inbound, do not sync the message; tell the CRM why. `refuse`: outbound, send nothing.
   */
  outcome: 'accept' | 'skip' | 'refuse';
  /** Set for `skip` and `refuse`. */
  reason?: AttachmentReasonCode;
  /** Human-readable explanation for `skip` and `refuse`. */
  message?: string;
  /** The per-attachment limit applied, in bytes. */
  limitBytes: number;
  attachments: AttachmentVerdict[];
}

const SENDER_NAMES: Record<AttachmentSender, string> = {
  google: 'Gmail',
  microsoft: 'Outlook',
  location_provider: "the location's sending service",
};

const SUPPORTED_KINDS: ReadonlySet<string> = new Set(SUPPORTED_ATTACHMENT_KINDS);

/**
 * ATT-2 for a kind detected from the bytes by whoever stored them (mail-gateway inbound, conversations at upload).
 * No detected kind means nobody looked at the content, so it is not trusted: the check fails closed.
 */
export function isSupportedAttachmentKind(detectedKind: string | undefined | null): boolean {
  return typeof detectedKind === 'string' && SUPPORTED_KINDS.has(detectedKind.toLowerCase());
}

/** ATT-2's one wording for a refused or left-behind type; `label` is the quoted file name or "Attachment n". */
export function unsupportedAttachmentNote(label: string): string {
  return `${label} is not a supported attachment type (JPG, JPEG, PNG, MP4, MPEG, ZIP, RAR, PDF, DOC, DOCX, TXT)`;
}

/** The per-attachment size limit in bytes for `provider`, with overrides applied. */
export function attachmentSizeLimit(provider: AttachmentSender, limits?: AttachmentSizeLimits): number {
  const limit =
    limits?.[provider] ??
    (provider === 'location_provider'
      ? DEFAULT_LOCATION_PROVIDER_ATTACHMENT_LIMIT
      : DEFAULT_ATTACHMENT_SIZE_LIMITS[provider]);
  if (!Number.isSafeInteger(limit) || limit <= 0) {
    throw new RangeError(
      `Attachment size limit for ${provider} must be a positive number of bytes, got ${limit}`,
    );
  }
  return limit;
}

/** "3 MB", "2.5 MB", "512 KB" (binary units, see {@link MB}). */
export function formatSize(bytes: number): string {
  if (bytes >= MB) return `${trimNumber(bytes / MB)} MB`;
  if (bytes >= 1024) return `${trimNumber(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

function trimNumber(n: number): string {
  return String(Math.round(n * 10) / 10);
}

/**
 * ATT-1 / ATT-2 for one message, the one place both rules are decided, inbound (sync-engine) and outbound
 * (conversations' early refusal and sync-engine's re-check before routing a send). Pure: it only looks at sizes and the content-based type detection.
 *
 * - Inbound: an unsupported type is left behind with a note and the message syncs (ATT-2). An oversized
 *   attachment makes the whole message `skip` under policy `skip`, or is left behind with a note under
 *   `strip` (ATT-1).
 * - Outbound: any oversized or unsupported attachment `refuse`s the send (too large reported first).
 * An attachment exactly at the limit is fine; one byte more is too large.
 */
export function checkAttachments(
  attachments: readonly AttachmentToCheck[],
  options: AttachmentCheckOptions,
  direction: AttachmentDirection,
): AttachmentCheckResult {
  const limitBytes = attachmentSizeLimit(options.provider, options.limits);
  const policy = options.policy ?? DEFAULT_OVERSIZED_ATTACHMENT_POLICY;
  const providerName = SENDER_NAMES[options.provider];

  const verdicts: AttachmentVerdict[] = attachments.map((attachment, index) => {
    const reasons: AttachmentReasonCode[] = [];
    if (attachment.size > limitBytes) reasons.push('attachment_too_large');
    if (!attachment.detected.supported) reasons.push('attachment_type_unsupported');
    const label = attachment.filename ? `"${attachment.filename}"` : `Attachment ${index + 1}`;
    const base = {
      index,
      size: attachment.size,
      ...(attachment.filename ? { filename: attachment.filename } : {}),
    };
    if (reasons.length === 0) return { ...base, status: 'ok', reasons, action: 'keep' };
    const note =
      reasons[0] === 'attachment_too_large'
        ? `${label} (${formatSize(attachment.size)}) is larger than the ${formatSize(limitBytes)} limit for ${providerName}`
        : unsupportedAttachmentNote(label);
    return {
      ...base,
      status: reasons[0] === 'attachment_too_large' ? 'oversized' : 'unsupported',
      reasons,
      action: 'leave_behind',
      note,
    };
  });

  const oversized = verdicts.filter((v) => v.reasons.includes('attachment_too_large'));
  const unsupported = verdicts.filter((v) => v.reasons.includes('attachment_type_unsupported'));

  if (direction === 'outbound') {
    const problem = oversized[0] ?? unsupported[0];
    if (problem) {
      const reason: AttachmentReasonCode =
        oversized.length > 0 ? 'attachment_too_large' : 'attachment_type_unsupported';
      const notes = [...new Set([...oversized, ...unsupported])].map((v) => v.note).join('; ');
      return {
        outcome: 'refuse',
        reason,
        message: `Email not sent: ${notes}`,
        limitBytes,
        attachments: verdicts,
      };
    }
    return { outcome: 'accept', limitBytes, attachments: verdicts };
  }

  if (options.provider === 'location_provider') {
    throw new RangeError('Inbound mail comes from a mailbox provider, not the location provider');
  }
  if (oversized.length > 0 && policy === 'skip') {
    const notes = oversized.map((v) => v.note).join('; ');
    return {
      outcome: 'skip',
      reason: 'attachment_too_large',
      message: `Message not synced: ${notes}`,
      limitBytes,
      attachments: verdicts,
    };
  }
  return { outcome: 'accept', limitBytes, attachments: verdicts };
}
