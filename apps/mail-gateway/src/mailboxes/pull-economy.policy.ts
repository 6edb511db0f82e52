import type { TransactionContext } from '@mailbridge/platform-persistence';
import type { MailboxEntity } from './mailbox.entity';
import type { GmailCursor } from './sync-health.service';

/**
 * How a pull records its success (issue 16: the fixed cost of a pull): inside its last page's transaction, or alone
 * (one statement when nothing else changes) when the round found nothing to commit.
 */
export interface PullFinish {
  /** `cursor` (Gmail): written with the success (pending pull requests it reached are served). */
  inTransaction(tx: TransactionContext, cursor?: GmailCursor): Promise<void>;
  alone(mailbox: MailboxEntity, cursor?: GmailCursor): Promise<void>;
}

/** What the notification rule needs of a notification (its event payload has more). */
export interface NotificationFacts {
  readonly provider: string;
  readonly historyId?: string;
  readonly lifecycleEvent?: string;
}

/**
 * The history a notification asks a pull for (Gmail pushes): at or below the committed cursor it asks for nothing.
 * Undefined (Graph, lifecycle events): unknown, the pull request is served only by a pull that saw it.
 */
export function requestedHistoryOf(n: NotificationFacts): string | undefined {
  return n.provider === 'google' && !n.lifecycleEvent ? n.historyId : undefined;
}

/** The health signature as the health event records it (stage, error, failing renewals: CON-2, CON-7). */
export function healthSignatureOf(
  mailbox: Pick<MailboxEntity, 'lastErrorCode' | 'renewalFailures'>,
  stage: string,
): string {
  return `${stage}|${mailbox.lastErrorCode ?? ''}${mailbox.renewalFailures > 0 ? `|r${mailbox.renewalFailures}` : ''}`;
}

/**
 * A round that changed nothing may record its success with a single statement only when the full record would change
 * nothing else either: the mailbox already healthy (watching, no failures, no error, no back-off, no re-list) and no
 * health event due (same signature, heartbeat not due). Otherwise the full record runs, event and all.
 */
export function quietSuccessAllowed(mailbox: MailboxEntity, now: number, heartbeatSeconds: number): boolean {
  if (mailbox.stage !== 'watching' || mailbox.failures !== 0 || mailbox.backoffUntil !== null) return false;
  if (mailbox.lastErrorCode !== null || mailbox.lastErrorAt !== null || mailbox.recovery) return false;
  if (healthSignatureOf(mailbox, 'watching') !== mailbox.healthSignature) return false;
  // A sync newer than the last event makes a due heartbeat fire: leave that to the full record.
  return !!mailbox.healthPublishedAt && now - mailbox.healthPublishedAt.getTime() <= heartbeatSeconds * 1000;
}
