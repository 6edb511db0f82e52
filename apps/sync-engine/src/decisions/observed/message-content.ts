import type { CanonicalMessage, MailboxAddress } from '@mailbridge/contracts';
import { normalizeAddress } from '@mailbridge/domain-mail';
import { applyInboundAttachmentRules } from '../attachments';
import type { ObservedDecisionInput } from '../decision.types';
import type { DecisionBuilder } from './decision-builder';

/** ATT-1 / ATT-2 for one location: the message to record, or null when it is skipped (and the skip recorded). */
export function attachmentsFor(
  input: ObservedDecisionInput,
  b: DecisionBuilder,
  message: CanonicalMessage,
  locationId: string,
  userId: string | null,
  contactId: string | null,
  connectionId: string | null,
): CanonicalMessage | null {
  const policy = input.policy.stripLocations.has(locationId) ? 'strip' : 'skip';
  const result = applyInboundAttachmentRules(
    message.attachments,
    message.provider,
    policy,
    input.policy.attachmentLimits,
  );
  if (result.outcome === 'skip') {
    b.skip({
      locationId,
      userId,
      contactId,
      connectionId,
      reason: 'attachment_too_large',
      rule: 'ATT-1',
      detail: result.detail,
      publish: true,
    });
    return null;
  }
  for (const a of result.attachments) {
    if (a.omittedReason === 'attachment_type_unsupported') b.applied('ATT-2');
    if (a.omittedReason === 'attachment_too_large') b.applied('ATT-1');
  }
  if (result.notes.length > 0)
    b.note(`ATT-1/ATT-2: left behind in ${locationId}: ${result.notes.join('; ')}`);
  return { ...message, attachments: result.attachments };
}

export function smartBccTest(input: ObservedDecisionInput): (normalized: string) => boolean {
  const domains = input.policy.smartBccDomains.map((d) => d.toLowerCase());
  const own = input.observed.source === 'smart_bcc' ? normalizeAddress(input.observed.mailboxAddress) : null;
  return (a) => a === own || input.smartBccAddresses.has(a) || domains.some((d) => a.endsWith(`@${d}`));
}

/** BCC-1: the smart-BCC address is never shown as a recipient. */
export function cleanMessage(
  m: CanonicalMessage,
  isSmartBcc: (normalized: string) => boolean,
): CanonicalMessage {
  const keep = (list: readonly MailboxAddress[]) =>
    list.filter((a) => !isSmartBcc(normalizeAddress(a.address)));
  return { ...m, to: keep(m.to), cc: keep(m.cc), bcc: keep(m.bcc) };
}
