import type { AttachmentRef, ProviderName } from '@mailbridge/contracts';
import {
  AttachmentSizeLimits,
  OversizedAttachmentPolicy,
  SUPPORTED_ATTACHMENT_KINDS,
  checkAttachments,
  formatSize,
} from '@mailbridge/domain-mail';

const SUPPORTED: ReadonlySet<string> = new Set(SUPPORTED_ATTACHMENT_KINDS);

/**
 * ATT-2: the kind was detected from the bytes by whoever stored them (mail-gateway inbound, conversations at upload).
 * No detected kind means nobody looked at the content, so it is not trusted: the check fails closed.
 */
export function isSupportedKind(detectedKind: string | undefined): boolean {
  return detectedKind !== undefined && SUPPORTED.has(detectedKind.toLowerCase());
}

export type InboundAttachmentResult =
  | { readonly outcome: 'accept'; readonly attachments: AttachmentRef[]; readonly notes: string[] }
  | { readonly outcome: 'skip'; readonly reason: 'attachment_too_large'; readonly detail: string };

/**
 * ATT-1 / ATT-2 for a message coming into the CRM. An unsupported type is left behind (no object key, a reason) and
 * the message syncs; an oversized attachment skips the whole message under policy `skip`, or is left behind under
 * `strip`.
 */
export function applyInboundAttachmentRules(
  attachments: readonly AttachmentRef[],
  provider: ProviderName,
  policy: OversizedAttachmentPolicy,
  limits: AttachmentSizeLimits,
): InboundAttachmentResult {
  if (attachments.length === 0) return { outcome: 'accept', attachments: [], notes: [] };
  const verdict = checkAttachments(
    attachments.map((a) => ({
      filename: a.filename,
      size: a.size,
      detected: { supported: isSupportedKind(a.detectedKind) },
    })),
    { provider, limits, policy },
    'inbound',
  );
  if (verdict.outcome === 'skip') {
    return {
      outcome: 'skip',
      reason: 'attachment_too_large',
      detail: verdict.message ?? 'attachment too large',
    };
  }
  const notes: string[] = [];
  const kept = attachments.map((attachment, i) => {
    const v = verdict.attachments[i];
    if (v.action === 'keep') return attachment;
    if (v.note) notes.push(v.note);
    const { objectKey: _dropped, ...rest } = attachment;
    return { ...rest, omittedReason: attachment.omittedReason ?? v.reasons[0] };
  });
  return { outcome: 'accept', attachments: kept, notes };
}

export type OutboundAttachmentResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly code: 'attachment_too_large' | 'attachment_type_unsupported' | 'attachment_unavailable';
      readonly message: string;
    };

/**
 * ATT-1 / ATT-2 for a CRM send, re-checked before anything is sent (conversations checks at the edge too): every
 * attachment must be stored, within the route's limit, and of a supported kind (too large is reported first).
 */
export function checkOutboundAttachments(
  attachments: readonly AttachmentRef[],
  limitBytes: number,
  routeName: string,
): OutboundAttachmentResult {
  const missing = attachments.find((a) => !a.objectKey);
  if (missing) {
    return {
      ok: false,
      code: 'attachment_unavailable',
      message: `Email not sent: "${missing.filename}" has no stored content`,
    };
  }
  const oversized = attachments.filter((a) => a.size > limitBytes);
  if (oversized.length > 0) {
    const list = oversized.map((a) => `"${a.filename}" (${formatSize(a.size)})`).join(', ');
    return {
      ok: false,
      code: 'attachment_too_large',
      message: `Email not sent: ${list} larger than the ${formatSize(limitBytes)} attachment limit for ${routeName}`,
    };
  }
  const unsupported = attachments.filter((a) => !isSupportedKind(a.detectedKind));
  if (unsupported.length > 0) {
    const list = unsupported.map((a) => `"${a.filename}"`).join(', ');
    return {
      ok: false,
      code: 'attachment_type_unsupported',
      message: `Email not sent: ${list} not a supported attachment type (JPG, JPEG, PNG, MP4, MPEG, ZIP, RAR, PDF, DOC, DOCX, TXT)`,
    };
  }
  return { ok: true };
}
