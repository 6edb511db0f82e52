import type { SmartBccOwner } from './smart-bcc-directory';

export type SenderVerdict = { readonly ok: true } | { readonly ok: false; readonly detail: string };

function allowedBy(list: readonly string[]): (address: string) => boolean {
  const entries = list.map((e) => e.trim().toLowerCase()).filter(Boolean);
  return (address) => entries.some((e) => (e.startsWith('@') ? address.endsWith(e) : address === e));
}

/**
 * BCC-1: smart-BCC mail is attributed to the address's (location, user), so it must come from that user: the
 * envelope sender (MAIL FROM) and the From header must both be the user's connected mailbox address or an address
 * of `SMART_BCC_ALLOWED_SENDERS`. A user with no active connection has no known address: their mail is trusted (the
 * smart-BCC address is the secret), as sync-engine does.
 */
export function checkSmartBccSender(input: {
  readonly owner: SmartBccOwner;
  readonly envelopeFrom: string | null;
  readonly headerFrom: string | null;
  readonly allowedSenders: readonly string[];
}): SenderVerdict {
  const { owner } = input;
  if (!owner.emailAddress) return { ok: true };
  const listed = allowedBy(input.allowedSenders);
  const own = owner.emailAddress.toLowerCase();
  const allowed = (a: string | null): a is string =>
    !!a && (a.toLowerCase() === own || listed(a.toLowerCase()));
  const problems: string[] = [];
  if (!allowed(input.headerFrom)) problems.push(`From ${input.headerFrom ?? '(none)'}`);
  if (!allowed(input.envelopeFrom)) problems.push(`MAIL FROM ${input.envelopeFrom || '<>'}`);
  if (problems.length === 0) return { ok: true };
  return {
    ok: false,
    detail: `${problems.join(' and ')} is not ${owner.userId}'s connected mailbox ${own} nor an allowed sender; smart-BCC mail is only recorded when the user sent it`,
  };
}
