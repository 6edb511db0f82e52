import { normalizeAddress, sameAddress } from '../address/email-address';

/**
 * SND-7, the one place that decides which From an individual send through the user's mailbox may carry, and the
 * signature appended to it. Pure. conversations refuses before anything is queued (422); mail-gateway asks again
 * just before the provider call, with the addresses as the provider reports them then.
 */

/** A verified address the mailbox may send as: Gmail send-as (`accepted` or primary), Microsoft proxy addresses. */
export interface SendAsAddress {
  readonly address: string;
  readonly displayName?: string | null;
  /** The mailbox's own address (Gmail primary send-as, Microsoft `SMTP:`). */
  readonly primary: boolean;
  /** Gmail send-as signature (HTML); Microsoft has none in Graph. */
  readonly signatureHtml?: string | null;
}

export interface SendAsProfile {
  /** The connected address (always allowed). */
  readonly mailboxAddress: string;
  readonly addresses: readonly SendAsAddress[];
  /** The connection's setting (default off): append the signature to CRM-sent mail. */
  readonly appendSignature: boolean;
  /** A signature the CRM set for the connection (plain text; Outlook, where Graph exposes none). */
  readonly crmSignature?: string | null;
}

export type SendAsVerdict =
  | {
      readonly outcome: 'allow';
      readonly from: string;
      /** The signature to append, null for none. */
      readonly signature: { readonly html: string; readonly text: string } | null;
      readonly trace: string;
    }
  | {
      readonly outcome: 'refuse';
      readonly code: 'from_not_verified';
      readonly message: string;
      readonly allowed: readonly string[];
      readonly trace: string;
    };

/** Gmail send-as entries as `users.settings.sendAs.list` returns them: only `accepted` aliases and the primary count. */
export function verifiedGmailSendAs(
  entries: ReadonlyArray<{
    sendAsEmail?: string | null;
    displayName?: string | null;
    isPrimary?: boolean | null;
    verificationStatus?: string | null;
    signature?: string | null;
  }>,
): SendAsAddress[] {
  return entries
    .filter((e) => e.sendAsEmail && (e.isPrimary === true || e.verificationStatus === 'accepted'))
    .map((e) => ({
      address: e.sendAsEmail as string,
      displayName: e.displayName ?? null,
      primary: e.isPrimary === true,
      signatureHtml: e.signature ? e.signature : null,
    }));
}

/** Microsoft `proxyAddresses` of the user: `SMTP:` is the primary, `smtp:` the aliases; other types (X500, SIP) are not mail. */
export function microsoftProxySendAs(proxyAddresses: readonly string[]): SendAsAddress[] {
  const seen = new Set<string>();
  const out: SendAsAddress[] = [];
  for (const p of proxyAddresses) {
    const m = /^(smtp):(.+@.+)$/i.exec(p.trim());
    if (!m) continue;
    const key = normalizeAddress(m[2]);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ address: m[2], primary: m[1] === 'SMTP', signatureHtml: null });
  }
  return out;
}

/**
 * SND-7: `from` (blank = the mailbox address) must be the mailbox address or one of its verified send-as addresses.
 * The signature is the alias's own Gmail signature, else the CRM-set one, and only when the connection says so.
 */
export function decideSendAs(from: string | null | undefined, profile: SendAsProfile): SendAsVerdict {
  const wanted = from?.trim() ? from.trim() : profile.mailboxAddress;
  const match =
    profile.addresses.find((a) => sameAddress(a.address, wanted)) ??
    (sameAddress(wanted, profile.mailboxAddress)
      ? { address: profile.mailboxAddress, primary: true, signatureHtml: null }
      : undefined);
  if (!match) {
    const allowed = allowedFrom(profile);
    return {
      outcome: 'refuse',
      code: 'from_not_verified',
      message: `${wanted} is not a verified send-as address of ${profile.mailboxAddress}; use one of: ${allowed.join(', ')}`,
      allowed,
      trace: `SND-7: refused: From ${wanted} is not a verified send-as address of the mailbox`,
    };
  }
  return {
    outcome: 'allow',
    from: match.address,
    signature: profile.appendSignature ? signatureFor(match, profile) : null,
    trace: `SND-7: From ${match.address} is ${match.primary ? 'the mailbox address' : 'a verified send-as address'}`,
  };
}

/** Every address a send may use as From, the mailbox's own first. */
export function allowedFrom(profile: SendAsProfile): string[] {
  const out = [profile.mailboxAddress];
  for (const a of profile.addresses) if (!out.some((o) => sameAddress(o, a.address))) out.push(a.address);
  return out;
}

function signatureFor(match: SendAsAddress, profile: SendAsProfile): { html: string; text: string } | null {
  if (match.signatureHtml?.trim()) {
    return { html: match.signatureHtml, text: htmlToText(match.signatureHtml) };
  }
  const crm = profile.crmSignature?.trim();
  if (crm) return { html: escapeHtml(crm).replace(/\r?\n/g, '<br>'), text: crm };
  return null;
}

/** The RFC 3676 signature separator a plain-text body gets before its signature. */
const TEXT_SEPARATOR = '\n\n-- \n';
/** Marks the signature block in HTML, so a body that already carries it is not signed twice. */
export const SIGNATURE_HTML_CLASS = 'mailbridge-signature';

/**
 * Appends the signature to both bodies: text after an RFC 3676 `-- ` line, HTML in a marked block (before
 * `</body>` when there is one). Idempotent: a body that already ends with this signature is left as it is, so a
 * retried send is never signed twice. A message with only one body gets the signature in that one.
 */
export function appendSignature(
  body: { text: string | null; html: string | null },
  signature: { html: string; text: string } | null,
): { text: string | null; html: string | null } {
  if (!signature) return body;
  const textBlock = `${TEXT_SEPARATOR}${signature.text}`;
  const text =
    body.text === null
      ? null
      : body.text.endsWith(textBlock)
        ? body.text
        : `${body.text.replace(/\s+$/, '')}${textBlock}`;
  const htmlBlock = `<div class="${SIGNATURE_HTML_CLASS}">${signature.html}</div>`;
  let html = body.html;
  if (html !== null && !html.includes(htmlBlock)) {
    const block = `<br><br>${htmlBlock}`;
    const end = html.search(/<\/body>/i);
    html = end >= 0 ? `${html.slice(0, end)}${block}${html.slice(end)}` : `${html}${block}`;
  }
  return { text, html };
}

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** A readable plain-text version of a signature's HTML: line breaks kept, tags dropped, entities decoded. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|li|tr|h[1-6])>/gi, '\n')
    .replace(/<a\s[^>]*href="([^"]*)"[^>]*>([\s\S]*?)<\/a>/gi, (_m, href: string, label: string) =>
      label.replace(/<[^>]+>/g, '').trim() === href ? href : `${label} <${href}>`,
    )
    .replace(/<[^>]+>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#(\d+);/g, (_m, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&amp;/g, '&')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
