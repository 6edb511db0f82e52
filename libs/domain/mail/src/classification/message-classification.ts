import { normalizeMessageId, parseMessageIds } from '../threading/message-id.util';
import { descendants, parseHeaderBlock, parseSection, type MimeSection } from './mime-sections';

/**
 * SYN-9 (who wrote it): every inbound message is `human`, `auto_reply`, `bounce` or `bulk`, decided from its raw
 * headers and report parts only — a pure function of the bytes, so the corpus test can pin every shape.
 *
 * Checked in this order (the first that holds wins):
 * 1. `bounce`: an RFC 3464 delivery-status report (`multipart/report; report-type=delivery-status`) with a recipient
 *    whose `Action` is `failed` or whose `Status` is 5.x.x; or a mailer's plain-text non-delivery report (Postfix,
 *    Exim, qmail QSBMF, Gmail, Exchange) sent by a mailer daemon / null sender / with `X-Failed-Recipients` or
 *    `X-MS-Exchange-Message-Is-Ndr`, whose text names a permanent failure. A report that only says "delayed" is
 *    not a bounce (the mail may still arrive): it is `auto_reply`.
 * 2. `auto_reply`: RFC 3834 `Auto-Submitted` other than `no`, `X-Autoreply`, `X-Autorespond`,
 *    `Precedence: auto_reply`, Exchange's `X-MS-Exchange-Inbox-Rules-Loop` (set on mail an inbox rule or the
 *    automatic-reply service generated). `X-Auto-Response-Suppress` is, as Microsoft documents it (MS-OXCMAIL
 *    §2.2.3.2.14), a *request* not to auto-answer this message, not a statement that it is one: it counts only
 *    together with an automatic-reply subject ("Automatic reply:", "Out of Office:").
 * 3. `bulk`: `Precedence: bulk | list | junk`, `List-Id`, `List-Unsubscribe` (RFC 2369 / 2919).
 * 4. otherwise `human`.
 */
export const MESSAGE_CLASSIFICATIONS = ['human', 'auto_reply', 'bounce', 'bulk'] as const;
export type MessageClassification = (typeof MESSAGE_CLASSIFICATIONS)[number];

export type BounceFormat = 'rfc3464' | 'postfix' | 'exim' | 'qmail' | 'text';

export interface BouncedRecipient {
  /** The recipient the report says failed (`Final-Recipient`, else the address the text names). */
  readonly address: string;
  /** RFC 3463 enhanced status code, e.g. `5.1.1`; null when the report gave none. */
  readonly status: string | null;
  /** The remote server's answer (`Diagnostic-Code` or the report's text), one line. */
  readonly diagnostic: string | null;
}

export interface BounceReport {
  readonly format: BounceFormat;
  /** The recipients that failed permanently, in report order (at most 50). */
  readonly recipients: readonly BouncedRecipient[];
  /** Status and diagnostic of the first failed recipient (what the CRM shows as the reason). */
  readonly status: string | null;
  readonly diagnostic: string | null;
  /** The Message-ID of the message that bounced (attached original or its headers, else In-Reply-To/References). */
  readonly originalMessageId: string | null;
}

export interface ClassificationResult {
  readonly classification: MessageClassification;
  /** The signals that decided it, e.g. `auto-submitted:auto-replied`, `list-id` (for logs and tests). */
  readonly signals: readonly string[];
  readonly bounce: BounceReport | null;
}

/** Reports and their originals' headers fit well within this; the rest of a large original is not needed. */
export const CLASSIFY_SCAN_BYTES = 256 * 1024;
const MAX_RECIPIENTS = 50;
const MAX_DIAGNOSTIC = 1000;

const DAEMON_LOCAL_PARTS = /^(mailer-daemon|mail-daemon|postmaster|mailerdaemon|mail\.delivery\.subsystem)$/i;
const BOUNCE_SUBJECT =
  /^(undeliver(able|ed)|mail delivery (failed|failure|subsystem)|delivery status notification \(failure\)|returned mail|failure notice|delivery failure|non[- ]?delivery|message not delivered|address not found)/i;
const AUTO_REPLY_SUBJECT =
  /^(automatic reply|auto(matic)?[- ]?(reply|response)|out of (the )?office|autosvar|abwesenheitsnotiz|r[ée]ponse automatique|respuesta autom[áa]tica)\b/i;
const ENHANCED_STATUS = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/;
const SMTP_REPLY = /\b([45])(\d\d)[ -]/;
const LOOSE_ADDRESS = /^[^\s@<>()[\],;:"]+@[^\s@<>()[\],;:"]+$/;

function first(s: Pick<MimeSection, 'headers'>, name: string): string | undefined {
  return s.headers.get(name)?.[0];
}

const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim().slice(0, MAX_DIAGNOSTIC);

/** `rfc822; <a@b>` / `<a@b>` / `a@b` → `a@b`, or null when it is not an address. */
function cleanAddress(value: string | undefined): string | null {
  if (!value) return null;
  const semi = value.indexOf(';');
  let v = (semi >= 0 ? value.slice(semi + 1) : value).trim();
  const bracketed = /<([^<>]*)>/.exec(v);
  if (bracketed) v = bracketed[1].trim();
  return v.length <= 320 && LOOSE_ADDRESS.test(v) ? v : null;
}

/** The enhanced status in a text, else one derived from its SMTP reply code (550 → 5.0.0). */
function statusIn(text: string): string | null {
  const enhanced = ENHANCED_STATUS.exec(text);
  if (enhanced) return `${enhanced[1]}.${enhanced[2]}.${enhanced[3]}`;
  const smtp = SMTP_REPLY.exec(text);
  return smtp ? `${smtp[1]}.0.0` : null;
}

function originalIdFromHeaders(headers: ReadonlyMap<string, readonly string[]>): string | null {
  return normalizeMessageId(headers.get('message-id')?.[0]) ?? null;
}

/** Message-ID of the bounced original: attached message or headers part, a copy in the text, then the reply headers. */
function originalMessageId(root: MimeSection, textBodies: readonly string[]): string | null {
  for (const s of descendants(root)) {
    if (s.contentType === 'message/rfc822' || s.contentType === 'message/global') {
      const id = s.parts[0] ? originalIdFromHeaders(s.parts[0].headers) : null;
      if (id) return id;
    }
    if (s.contentType === 'text/rfc822-headers' || s.contentType === 'message/global-headers') {
      const id = originalIdFromHeaders(parseHeaderBlock(s.body));
      if (id) return id;
    }
  }
  // Postfix, Exim and qmail append the original (or its headers) to the text after a marker line.
  for (const text of textBodies) {
    const match = /^[ \t]*Message-ID:[ \t]*(<[^<>\s]+>)/im.exec(text);
    const id = match ? normalizeMessageId(match[1]) : undefined;
    if (id) return id;
  }
  const inReplyTo = parseMessageIds(first(root, 'in-reply-to'))[0];
  if (inReplyTo) return inReplyTo;
  const refs = parseMessageIds(first(root, 'references'));
  return refs.length > 0 ? refs[refs.length - 1] : null;
}

interface DsnResult {
  readonly failed: BouncedRecipient[];
  /** The report's recipients' actions, lower case: tells a delay from a failure. */
  readonly actions: string[];
}

/** RFC 3464 §2.1: a per-message block, then one block per recipient, separated by blank lines. */
function readDeliveryStatus(body: string): DsnResult {
  const failed: BouncedRecipient[] = [];
  const actions: string[] = [];
  const blocks = body.split(/\r?\n[ \t]*\r?\n/);
  for (const block of blocks) {
    const fields = parseHeaderBlock(block);
    const recipient = cleanAddress(
      fields.get('final-recipient')?.[0] ?? fields.get('original-recipient')?.[0],
    );
    if (!recipient) continue;
    const action = (fields.get('action')?.[0] ?? '').trim().toLowerCase();
    const statusRaw = fields.get('status')?.[0] ?? '';
    const status = ENHANCED_STATUS.exec(statusRaw)?.[0] ?? null;
    actions.push(action);
    const diagnosticRaw = fields.get('diagnostic-code')?.[0];
    const diagnostic = diagnosticRaw ? oneLine(diagnosticRaw.replace(/^[a-z-]+;\s*/i, '')) : null;
    if (action === 'failed' || (action === '' && status?.startsWith('5'))) {
      if (failed.length < MAX_RECIPIENTS)
        failed.push({ address: recipient, status: status ?? statusIn(diagnostic ?? ''), diagnostic });
    }
  }
  return { failed, actions };
}

function fromAddress(root: MimeSection): string | null {
  return cleanAddress(first(root, 'from'));
}

function looksLikeMailerDaemon(root: MimeSection): string[] {
  const signals: string[] = [];
  const from = fromAddress(root);
  if (from && DAEMON_LOCAL_PARTS.test(from.split('@')[0])) signals.push('from:mailer-daemon');
  else if (/mail delivery (system|subsystem)/i.test(first(root, 'from') ?? ''))
    signals.push('from:mail-delivery-system');
  const returnPath = first(root, 'return-path');
  if (returnPath !== undefined && /^<\s*>$/.test(returnPath.trim())) signals.push('return-path:null');
  if (root.headers.has('x-failed-recipients')) signals.push('x-failed-recipients');
  if (root.headers.has('x-ms-exchange-message-is-ndr')) signals.push('x-ms-exchange-message-is-ndr');
  return signals;
}

function textBodiesOf(root: MimeSection): string[] {
  if (root.parts.length === 0) return [root.body];
  return descendants(root)
    .filter(
      (s) =>
        s.parts.length === 0 && s.contentType.startsWith('text/') && s.contentType !== 'text/rfc822-headers',
    )
    .map((s) => s.body);
}

/** The failed recipients a plain-text report names, with the paragraph about each. */
function readTextReport(
  root: MimeSection,
  text: string,
): { format: BounceFormat; failed: BouncedRecipient[] } {
  const failed: BouncedRecipient[] = [];
  const add = (address: string | null, paragraph: string) => {
    if (!address || failed.length >= MAX_RECIPIENTS) return;
    if (failed.some((f) => f.address.toLowerCase() === address.toLowerCase())) return;
    const qmailStatus = /\(#([245]\.\d{1,3}\.\d{1,3})\)/.exec(paragraph)?.[1];
    const diagnostic = oneLine(paragraph) || null;
    failed.push({ address, status: qmailStatus ?? statusIn(paragraph), diagnostic });
  };
  // Only the report itself, not the copy of the original after it.
  const report = text.split(
    /^(?:--- Below this line is a copy of the message\.|-+ This is a copy of the message|-+ Original message -+|Original message headers:)/im,
  )[0];

  let format: BounceFormat = 'text';
  if (/qmail-send program|I wasn't able to deliver your message/i.test(report)) format = 'qmail';
  else if (/This is the mail system at host/i.test(report)) format = 'postfix';
  else if (/could not be delivered to one or more of its\s+recipients/i.test(report)) format = 'exim';

  if (format === 'exim') {
    // "The following address(es) failed:" then indented paragraphs, each starting with the address.
    const after = report.split(/following address(?:\(es\))? failed:\s*\r?\n/i)[1] ?? '';
    for (const paragraph of after.split(/\r?\n[ \t]*\r?\n/)) {
      const lines = paragraph.split(/\r?\n/).filter((l) => l.trim() !== '');
      if (lines.length === 0) continue;
      add(cleanAddress(lines[0].trim().replace(/:$/, '')), lines.slice(1).join(' '));
    }
  } else {
    // Postfix and qmail: a paragraph starting "<address>:" per recipient.
    for (const paragraph of report.split(/\r?\n[ \t]*\r?\n/)) {
      const match = /^\s*<([^<>\s]+@[^<>\s]+)>:?\s*([\s\S]*)$/.exec(paragraph);
      if (match) add(cleanAddress(match[1]), match[2]);
    }
  }
  // Gmail, Exim, Exchange: the failed addresses in a header, when the text named none.
  for (const value of root.headers.get('x-failed-recipients') ?? []) {
    for (const piece of value.split(',')) {
      const address = cleanAddress(piece);
      if (!address || failed.some((f) => f.address.toLowerCase() === address.toLowerCase())) continue;
      const at = report.toLowerCase().indexOf(address.toLowerCase());
      add(address, at >= 0 ? report.slice(at, at + 600).split(/\r?\n[ \t]*\r?\n/)[0] : '');
    }
  }
  return { format, failed };
}

/** A plain-text report says the failure is permanent (not "will keep trying"). */
function isPermanent(text: string, failed: readonly BouncedRecipient[]): boolean {
  if (failed.some((f) => f.status?.startsWith('5'))) return true;
  if (failed.some((f) => f.status?.startsWith('4'))) return false;
  if (/will (keep|continue) (trying|to try)|delayed|temporar(y|ily)|not yet been delivered/i.test(text))
    return false;
  return /permanent (error|failure)|I've given up|could not be delivered|couldn't be delivered|wasn't delivered|undeliverable|address not found|delivery has failed|failed permanently/i.test(
    text,
  );
}

function autoReplySignals(root: MimeSection): string[] {
  const signals: string[] = [];
  const autoSubmitted = first(root, 'auto-submitted')
    ?.split(/[;(\s]/)[0]
    ?.toLowerCase();
  if (autoSubmitted && autoSubmitted !== 'no') signals.push(`auto-submitted:${autoSubmitted}`);
  for (const name of ['x-autoreply', 'x-autorespond', 'x-autogenerated']) {
    const value = first(root, name)?.trim().toLowerCase();
    if (value !== undefined && value !== 'no' && value !== 'false') signals.push(name);
  }
  const precedence = first(root, 'precedence')?.trim().toLowerCase();
  if (precedence === 'auto_reply' || precedence === 'auto-reply') signals.push('precedence:auto_reply');
  if (root.headers.has('x-ms-exchange-inbox-rules-loop')) signals.push('x-ms-exchange-inbox-rules-loop');
  const suppress = first(root, 'x-auto-response-suppress')?.toLowerCase();
  if (
    signals.length === 0 &&
    suppress &&
    /\b(all|oof|autoreply)\b/.test(suppress) &&
    AUTO_REPLY_SUBJECT.test(first(root, 'subject') ?? '')
  )
    signals.push('x-auto-response-suppress+subject');
  return signals;
}

function bulkSignals(root: MimeSection): string[] {
  const signals: string[] = [];
  const precedence = first(root, 'precedence')?.trim().toLowerCase();
  if (precedence === 'bulk' || precedence === 'list' || precedence === 'junk')
    signals.push(`precedence:${precedence}`);
  if (root.headers.has('list-id')) signals.push('list-id');
  if (root.headers.has('list-unsubscribe')) signals.push('list-unsubscribe');
  return signals;
}

function bounceOf(root: MimeSection): { report: BounceReport | null; signals: string[]; automated: boolean } {
  const textBodies = textBodiesOf(root);
  // RFC 3464 / RFC 6522: the report type is on the top-level multipart/report (or one nested in a wrapper).
  const reports = [root, ...descendants(root)].filter(
    (s) =>
      s.contentType === 'multipart/report' &&
      (s.params.get('report-type') ?? '').toLowerCase() === 'delivery-status',
  );
  for (const report of reports) {
    const status = report.parts.find(
      (p) =>
        p.contentType === 'message/delivery-status' || p.contentType === 'message/global-delivery-status',
    );
    if (!status) continue;
    const dsn = readDeliveryStatus(status.body);
    if (dsn.failed.length > 0) {
      return {
        signals: ['report-type:delivery-status', 'action:failed'],
        automated: true,
        report: {
          format: 'rfc3464',
          recipients: dsn.failed,
          status: dsn.failed[0].status,
          diagnostic: dsn.failed[0].diagnostic,
          originalMessageId: originalMessageId(root, textBodies),
        },
      };
    }
    // A delay or a success notice: automatic, but the mail was not refused.
    if (dsn.actions.length > 0)
      return { report: null, signals: [`dsn:${dsn.actions[0] || 'unknown'}`], automated: true };
  }

  const daemon = looksLikeMailerDaemon(root);
  const subject = first(root, 'subject') ?? '';
  if (daemon.length === 0) return { report: null, signals: [], automated: false };
  const text = textBodies.join('\n\n');
  const { format, failed } = readTextReport(root, text);
  const permanent =
    isPermanent(text, failed) ||
    (failed.length > 0 && BOUNCE_SUBJECT.test(subject) && !failed.some((f) => f.status?.startsWith('4')));
  if (failed.length > 0 && permanent) {
    return {
      signals: [...daemon, `text-report:${format}`],
      automated: true,
      report: {
        format,
        recipients: failed,
        status: failed[0].status,
        diagnostic: failed[0].diagnostic,
        originalMessageId: originalMessageId(root, textBodies),
      },
    };
  }
  // A mailer daemon wrote it (a delay warning, a report we cannot read): not a human.
  return { report: null, signals: daemon, automated: true };
}

/** Classifies one raw RFC 822 message (SYN-9). Never throws; reads at most the first {@link CLASSIFY_SCAN_BYTES}. */
export function classifyMessage(raw: Buffer | string): ClassificationResult {
  try {
    const text = (
      typeof raw === 'string' ? raw : raw.subarray(0, CLASSIFY_SCAN_BYTES).toString('utf8')
    ).slice(0, CLASSIFY_SCAN_BYTES);
    const root = parseSection(text);
    const bounce = bounceOf(root);
    if (bounce.report) return { classification: 'bounce', signals: bounce.signals, bounce: bounce.report };
    const auto = autoReplySignals(root);
    if (auto.length > 0 || bounce.automated)
      return { classification: 'auto_reply', signals: [...bounce.signals, ...auto], bounce: null };
    const bulk = bulkSignals(root);
    if (bulk.length > 0) return { classification: 'bulk', signals: bulk, bounce: null };
    return { classification: 'human', signals: [], bounce: null };
  } catch {
    // A shape nobody foresaw must not stop the message: it syncs as what most mail is.
    return { classification: 'human', signals: ['unreadable'], bounce: null };
  }
}
