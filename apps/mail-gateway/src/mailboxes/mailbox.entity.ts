import { Column, Entity, PrimaryColumn } from 'typeorm';

export type MailboxDesired = 'active' | 'paused' | 'stopped';
export type MailboxStage =
  'starting' | 'watching' | 'catching_up' | 'throttled' | 'paused_auth' | 'error' | 'stopped';

/** One provider account (`<provider>:<address>`), watched once however many connections point at it (SYN-4). */
@Entity({ schema: 'mail_gateway', name: 'mailboxes' })
export class MailboxEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ name: 'mailbox_key', type: 'text', unique: true })
  mailboxKey!: string;

  @Column({ type: 'text' })
  provider!: 'google' | 'microsoft';

  @Column({ name: 'email_address', type: 'text' })
  emailAddress!: string;

  /** What the connections want: watched (≥1 active), paused (only reauth_required ones), or not at all. */
  @Column({ type: 'text' })
  desired!: MailboxDesired;

  @Column({ type: 'text' })
  stage!: MailboxStage;

  /** Gmail sync cursor. Graph cursors are per folder (graph_folders). */
  @Column({ name: 'history_id', type: 'text', nullable: true })
  historyId!: string | null;

  /** Everything the provider received before this instant has been observed: where a gap re-list starts. */
  @Column({ name: 'cursor_synced_at', type: 'timestamptz', nullable: true })
  cursorSyncedAt!: Date | null;

  /** When watching began without a cursor (CON-6): a gap re-list never reaches back before it. */
  @Column({ name: 'baseline_at', type: 'timestamptz', nullable: true })
  baselineAt!: Date | null;

  /** Progress of a resumable re-list after an expired Gmail cursor. */
  @Column({ type: 'jsonb', nullable: true })
  recovery!: unknown;

  @Column({ name: 'watch_expires_at', type: 'timestamptz', nullable: true })
  watchExpiresAt!: Date | null;

  @Column({ name: 'watch_renew_at', type: 'timestamptz', nullable: true })
  watchRenewAt!: Date | null;

  /** CON-7: renewals of the watch/subscriptions that failed in a row (0 after a success). */
  @Column({ name: 'renewal_failures', type: 'integer', default: 0 })
  renewalFailures!: number;

  @Column({ name: 'pull_requested_at', type: 'timestamptz', nullable: true })
  pullRequestedAt!: Date | null;

  /** Issue 16: the highest Gmail history id the pending pull request was asked for (null: unknown, pull). */
  @Column({ name: 'pull_request_history_id', type: 'text', nullable: true })
  pullRequestHistoryId!: string | null;

  @Column({ name: 'backoff_until', type: 'timestamptz', nullable: true })
  backoffUntil!: Date | null;

  @Column({ type: 'int' })
  failures!: number;

  @Column({ name: 'last_notification_at', type: 'timestamptz', nullable: true })
  lastNotificationAt!: Date | null;

  @Column({ name: 'last_pull_at', type: 'timestamptz', nullable: true })
  lastPullAt!: Date | null;

  @Column({ name: 'last_synced_at', type: 'timestamptz', nullable: true })
  lastSyncedAt!: Date | null;

  @Column({ name: 'last_error_code', type: 'text', nullable: true })
  lastErrorCode!: string | null;

  @Column({ name: 'last_error_message', type: 'text', nullable: true })
  lastErrorMessage!: string | null;

  @Column({ name: 'last_error_at', type: 'timestamptz', nullable: true })
  lastErrorAt!: Date | null;

  @Column({ name: 'health_signature', type: 'text', nullable: true })
  healthSignature!: string | null;

  @Column({ name: 'health_published_at', type: 'timestamptz', nullable: true })
  healthPublishedAt!: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
