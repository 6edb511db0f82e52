import { sameAddress } from '../address/email-address';
import type { MailProvider } from '../attachment/attachment.policy';

/** What the CRM asked to send (the `kind` of a send request). */
export type SendKind = 'individual' | 'bulk' | 'workflow';
export const SEND_KINDS: readonly SendKind[] = Object.freeze(['individual', 'bulk', 'workflow']);

/** Through the user's own mailbox (Gmail API / Graph) or the location's own sending service. */
export type SendVia = 'mailbox' | 'location_provider';

/** The requesting user's active connection in the location, as far as routing needs it. */
export interface SenderMailbox {
  readonly provider: MailProvider;
  /** The connected address. */
  readonly address: string;
}

export interface SendRouteChoice {
  readonly via: SendVia;
  readonly rule: 'SND-1' | 'SND-2' | 'SND-3';
  /** One line saying why, for the decision trace. */
  readonly trace: string;
}

/**
 * SND-1..SND-3, the one place the route of a CRM send is chosen. Pure: the kind, the From the CRM asked for, and the
 * requesting user's active connection (null: none). sync-engine routes with it; conversations uses it to pick the
 * limits (ATT-1) and cap (SND-4) it checks before accepting the send; mail-gateway sends the route it is given.
 */
export function chooseSendRoute(
  kind: SendKind,
  from: string | null | undefined,
  mailbox: SenderMailbox | null,
): SendRouteChoice {
  switch (kind) {
    case 'individual':
      return mailbox
        ? {
            via: 'mailbox',
            rule: 'SND-1',
            trace: `SND-1: individual email through the user's active ${PROVIDER_LABEL[mailbox.provider]} connection`,
          }
        : {
            via: 'location_provider',
            rule: 'SND-1',
            trace:
              'SND-1: individual email, the user has no active connection: the location provider sends it',
          };
    case 'bulk':
      return bulkRoute(from, mailbox);
    case 'workflow':
      return {
        via: 'location_provider',
        rule: 'SND-3',
        trace: 'SND-3: workflow email always goes through the location provider',
      };
  }
}

/** SND-2: Outlook bulk mail from the connected address goes through the mailbox; all other bulk mail does not. */
function bulkRoute(from: string | null | undefined, mailbox: SenderMailbox | null): SendRouteChoice {
  if (!mailbox) {
    return {
      via: 'location_provider',
      rule: 'SND-2',
      trace: 'SND-2: bulk email without an active connection: the location provider sends it',
    };
  }
  switch (mailbox.provider) {
    case 'google':
      return {
        via: 'location_provider',
        rule: 'SND-2',
        trace: 'SND-2: bulk email with a Gmail connection always goes through the location provider',
      };
    case 'microsoft':
      return from && sameAddress(from, mailbox.address)
        ? {
            via: 'mailbox',
            rule: 'SND-2',
            trace: 'SND-2: bulk email from the connected Outlook address: sent from that mailbox',
          }
        : {
            via: 'location_provider',
            rule: 'SND-2',
            trace:
              'SND-2: bulk email whose From is blank or not the connected Outlook address: the location provider sends it',
          };
  }
}

/** How providers are named in messages people read (errors, notes, traces). */
export const PROVIDER_LABEL: Readonly<Record<MailProvider, string>> = Object.freeze({
  google: 'Gmail',
  microsoft: 'Outlook',
});
