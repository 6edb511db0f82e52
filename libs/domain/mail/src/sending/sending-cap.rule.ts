import type { MailProvider } from '../attachment/attachment.policy';
import { PROVIDER_LABEL, type SendKind, type SendVia } from './send-route.rule';

/** SND-4's window: a rolling day. */
export const SENDING_CAP_WINDOW_HOURS = 24;
const WINDOW_MS = SENDING_CAP_WINDOW_HOURS * 3_600_000;

/**
 * Individual emails per mailbox per rolling day, by provider. **0 means no cap** (the check is off), in every service
 * that reads the setting: a cap of 0 taken literally would refuse every individual email of every connected user,
 * which SND-1 (individual email goes through the mailbox) and SND-4 (never silently rerouted) leave no use for.
 */
export interface SendingCaps {
  readonly google: number;
  readonly microsoft: number;
}

export const DEFAULT_SENDING_CAPS: SendingCaps = Object.freeze({ google: 500, microsoft: 10_000 });

/**
 * SND-4, which sends count: individual emails that go through the mailbox. Bulk mail through an Outlook mailbox
 * (SND-2) neither counts nor is held to the cap: the product documents say the daily cap "applies only to individual
 * emails"; workflow mail never goes through a mailbox (SND-3). Independent of the configured caps, so a send counts
 * the same whatever the cap is when it is sent.
 */
export function countsTowardSendingCap(kind: SendKind, via: SendVia): boolean {
  if (via === 'location_provider') return false;
  switch (kind) {
    case 'individual':
      return true;
    case 'bulk':
    case 'workflow':
      return false;
  }
}

/** A send to check: what it is and the mailbox its route goes through (null: the location provider). */
export interface CappedSend {
  readonly kind: SendKind;
  readonly mailbox: { readonly provider: MailProvider; readonly address: string } | null;
}

/**
 * The cap `send` is held to, or null when none applies (not counted, or the provider's cap is 0). Callers count the
 * mailbox's usage only when this is a number, and count the `cap`-th most recent send with it (the reset time).
 */
export function sendingCapFor(send: CappedSend, caps: SendingCaps): number | null {
  if (!send.mailbox || !countsTowardSendingCap(send.kind, 'mailbox')) return null;
  const cap = caps[send.mailbox.provider];
  return cap > 0 ? cap : null;
}

/** A mailbox's counted sends in the last rolling day, as a repository answers it. */
export interface SendingCapUsage {
  readonly sentInWindow: number;
  /** When the `cap`-th most recent counted send of the window was made: its slot is the next to open. */
  readonly capthMostRecentAt: Date | null;
}

export interface SendingCapDetails {
  readonly cap: number;
  readonly windowHours: number;
  readonly sentInWindow: number;
  /** ISO 8601: the first instant another individual email can be sent. */
  readonly nextSlotAt: string;
}

export type SendingCapDecision =
  | { readonly outcome: 'allow'; readonly rule: 'SND-4'; readonly trace: string }
  | {
      readonly outcome: 'refuse';
      readonly rule: 'SND-4';
      readonly code: 'sending_cap_reached';
      readonly message: string;
      readonly details: SendingCapDetails;
      readonly trace: string;
    };

/**
 * SND-4, the one decision: conversations' early refusal (the CRM's 422) and mail-gateway's last check before the
 * provider both call this, with the same caps, so the CRM's answer is what mail-gateway does. `usage` is required
 * when {@link sendingCapFor} gives a cap. Over the cap the send is refused with one wording everywhere, giving the
 * cap and when the next slot opens: when the `cap`-th most recent counted send leaves the rolling day.
 */
export function decideSendingCap(
  send: CappedSend,
  caps: SendingCaps,
  usage: SendingCapUsage | null,
  now: Date,
): SendingCapDecision {
  const cap = sendingCapFor(send, caps);
  if (cap === null || !send.mailbox) {
    const why = !send.mailbox
      ? 'not sent through a mailbox'
      : countsTowardSendingCap(send.kind, 'mailbox')
        ? `the ${PROVIDER_LABEL[send.mailbox.provider]} cap is 0 (no cap)`
        : `${send.kind} email does not count`;
    return { outcome: 'allow', rule: 'SND-4', trace: `SND-4: no sending cap applies (${why})` };
  }
  if (!usage) throw new Error('decideSendingCap: the mailbox usage is needed when a cap applies');
  if (usage.sentInWindow < cap) {
    return {
      outcome: 'allow',
      rule: 'SND-4',
      trace: `SND-4: ${usage.sentInWindow} of ${cap} individual emails sent in the last ${SENDING_CAP_WINDOW_HOURS} hours`,
    };
  }
  const nextSlotAt = new Date((usage.capthMostRecentAt ?? now).getTime() + WINDOW_MS).toISOString();
  const label = PROVIDER_LABEL[send.mailbox.provider];
  const message =
    `Sending cap reached: ${send.mailbox.address} has used the ${label} cap of ${cap} individual emails per ` +
    `${SENDING_CAP_WINDOW_HOURS} hours (${usage.sentInWindow} sent through the platform in the last ` +
    `${SENDING_CAP_WINDOW_HOURS} hours). Nothing was sent. The next email can be sent after ${nextSlotAt}.`;
  return {
    outcome: 'refuse',
    rule: 'SND-4',
    code: 'sending_cap_reached',
    message,
    details: { cap, windowHours: SENDING_CAP_WINDOW_HOURS, sentInWindow: usage.sentInWindow, nextSlotAt },
    trace: `SND-4: refused, ${usage.sentInWindow} of ${cap} individual emails sent in the last ${SENDING_CAP_WINDOW_HOURS} hours`,
  };
}
