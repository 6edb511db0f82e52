import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ConnectionWarning } from './connection-warning.rule';
import type { SendAsAddress } from '@mailbridge/domain-mail';
import type { PayloadOf, ProviderName, SyncScope, mailboxAuditedV1 } from '@mailbridge/contracts';

export type ConnectionStatus = 'active' | 'reauth_required' | 'disconnected' | 'replaced';
export const LIVE_STATUSES: readonly ConnectionStatus[] = ['active', 'reauth_required'];

export interface SyncErrorInfo {
  readonly code: string;
  readonly message: string;
  readonly at: string;
}

/** One user's link to one mailbox in one location. Never holds a token: those live in the vault. */
@Entity({ schema: 'identity_connections', name: 'connections' })
export class ConnectionEntity {
  @PrimaryColumn({ name: 'connection_id', type: 'uuid' })
  connectionId!: string;

  @Column({ name: 'location_id', type: 'text' })
  locationId!: string;

  @Column({ name: 'user_id', type: 'text' })
  userId!: string;

  @Column({ type: 'text' })
  provider!: ProviderName;

  /** As the provider reported it after consent (never taken from the request). */
  @Column({ name: 'email_address', type: 'text' })
  emailAddress!: string;

  /** `<provider>:<lower-cased address>`: the provider account several connections may share (SYN-4). */
  @Column({ name: 'mailbox_key', type: 'text' })
  mailboxKey!: string;

  /** Google `sub` / Microsoft `homeAccountId` (what MSAL needs to find the account in its cache). */
  @Column({ name: 'provider_account_id', type: 'text' })
  providerAccountId!: string;

  @Column({ name: 'granted_scopes', type: 'text' })
  grantedScopes!: string;

  @Column({ type: 'text' })
  status!: ConnectionStatus;

  @Column({ name: 'sync_scope', type: 'text' })
  syncScope!: SyncScope;

  @Column({ name: 'connected_at', type: 'timestamptz' })
  connectedAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true })
  endedAt!: Date | null;

  @Column({ name: 'replaced_by', type: 'uuid', nullable: true })
  replacedBy!: string | null;

  @Column({ name: 'reauth_reason', type: 'text', nullable: true })
  reauthReason!: string | null;

  @Column({ name: 'reauth_at', type: 'timestamptz', nullable: true })
  reauthAt!: Date | null;

  /** From mail-gateway's `mailbox.sync-health-changed` (CON-2). */
  @Column({ name: 'sync_stage', type: 'text', nullable: true })
  syncStage!: string | null;

  @Column({ name: 'last_synced_at', type: 'timestamptz', nullable: true })
  lastSyncedAt!: Date | null;

  @Column({ name: 'last_error', type: 'jsonb', nullable: true })
  lastError!: SyncErrorInfo | null;

  /** When the health above was observed (older reports are ignored). */
  @Column({ name: 'health_at', type: 'timestamptz', nullable: true })
  healthAt!: Date | null;

  /** SYN-10: the latest completeness audit of the mailbox (`mailbox.audited`); older reports are ignored. */
  @Column({ name: 'last_audit_at', type: 'timestamptz', nullable: true })
  lastAuditAt!: Date | null;

  @Column({ name: 'audit_report', type: 'jsonb', nullable: true })
  auditReport!: AuditReportInfo | null;

  /** CON-7: when the refresh token dies whatever we do (Google "Testing" apps); null when the provider sets no end. */
  @Column({ name: 'refresh_expires_at', type: 'timestamptz', nullable: true })
  refreshExpiresAt!: Date | null;

  /** CON-7: from mail-gateway's health reports: watch/subscription renewals failing in a row, and its expiry. */
  @Column({ name: 'renewal_failures', type: 'integer', nullable: true })
  renewalFailures!: number | null;

  @Column({ name: 'watch_expires_at', type: 'timestamptz', nullable: true })
  watchExpiresAt!: Date | null;

  /** CON-7: the warning last told (`connection.warning`), so it is told once per change. */
  @Column({ type: 'jsonb', nullable: true })
  warning!: ConnectionWarning | null;

  /** SND-7: verified send-as addresses as the provider last reported them (null: never read). */
  @Column({ name: 'send_as', type: 'jsonb', nullable: true })
  sendAs!: SendAsAddress[] | null;

  @Column({ name: 'send_as_read_at', type: 'timestamptz', nullable: true })
  sendAsReadAt!: Date | null;

  /** SND-7: append the mailbox's signature to CRM-sent mail (default off). */
  @Column({ name: 'append_signature', type: 'boolean', default: false })
  appendSignature!: boolean;

  /** SND-7: a signature the CRM set (plain text), used when the provider has none (Outlook: Graph exposes none). */
  @Column({ name: 'crm_signature', type: 'text', nullable: true })
  crmSignature!: string | null;
}

/** The CRM's view of an audit report (issue 15): the numbers of the latest `mailbox.audited`. */
export type AuditReportInfo = Pick<
  PayloadOf<typeof mailboxAuditedV1>,
  'window' | 'checkedAt' | 'providerMessages' | 'accounted' | 'missing' | 'healed' | 'status'
>;
