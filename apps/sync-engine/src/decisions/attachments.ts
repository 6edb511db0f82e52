import type { AttachmentRef, ProviderName } from '@mailbridge/contracts';
import {
  AttachmentSender,
  AttachmentSizeLimits,
  OversizedAttachmentPolicy,
  checkAttachments,
  isSupportedAttachmentKind,
} from '@mailbridge/domain-mail';

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
      detected: { supported: isSupportedAttachmentKind(a.detectedKind) },
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
 * Before a CRM send is routed: every attachment must be stored (ATT-3), then ATT-1 / ATT-2 as conversations checked
 * them at the edge (the same function, `checkAttachments`), with the limit of the route chosen.
 */
export function checkOutboundAttachments(
  attachments: readonly AttachmentRef[],
  sender: AttachmentSender,
  limits: AttachmentSizeLimits,
): OutboundAttachmentResult {
  const missing = attachments.find((a) => !a.objectKey);
  if (missing) {
    return {
      ok: false,
      code: 'attachment_unavailable',
      message: `Email not sent: "${missing.filename}" has no stored content`,
    };
  }
  if (attachments.length === 0) return { ok: true };
  const verdict = checkAttachments(
    attachments.map((a) => ({
      filename: a.filename,
      size: a.size,
      detected: { supported: isSupportedAttachmentKind(a.detectedKind) },
    })),
    { provider: sender, limits },
    'outbound',
  );
  if (verdict.outcome !== 'refuse' || !verdict.reason) return { ok: true };
  return { ok: false, code: verdict.reason, message: verdict.message ?? 'Email not sent' };
}
