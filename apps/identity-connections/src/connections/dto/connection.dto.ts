import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsString, MaxLength, ValidateIf } from 'class-validator';
import { toSendAsAnswer, type SendAsProfile } from '@mailbridge/domain-mail';
import type { SendAsAnswer } from '@mailbridge/contracts';
import type { AuditReportInfo, ConnectionEntity } from '../connection.entity';
import type { AdminConsentRequest } from '../admin-consent-requests.repository';
import {
  CONNECTION_WARNING_CODES,
  type ConnectionWarning,
  connectionWarning,
  renewalOf,
} from '../connection-warning.rule';

export class SyncErrorDto {
  @ApiProperty({ example: 'provider_throttled' }) code!: string;
  @ApiProperty({ example: 'Gmail answered 429 for 10 minutes' }) message!: string;
  @ApiProperty({ example: '2026-11-20T09:15:00.000Z' }) at!: string;
}

/** CON-7: why and when the connection is expected to break. */
export class ConnectionWarningDto {
  @ApiProperty({ enum: CONNECTION_WARNING_CODES, example: 'refresh_token_expiring' }) code!: string;
  @ApiProperty({
    example:
      'Google limits this grant (an OAuth app in "Testing" publishing status): the connection stops on 2026-11-08T08:00:00.000Z unless the user connects again.',
  })
  message!: string;
  @ApiProperty({ example: '2026-11-08T08:00:00.000Z', nullable: true, type: String }) expiresAt!:
    string | null;
  @ApiPropertyOptional({
    type: [String],
    example: ['Mail.Send'],
    description: 'scope_missing: what is missing',
  })
  missingScopes?: string[];
  @ApiPropertyOptional({
    example:
      'https://login.microsoftonline.com/common/adminconsent?client_id=6f1c9a43-…&redirect_uri=https%3A%2F%2Fmb.example%2Fv1%2Foauth%2Fmicrosoft%2Fcallback',
    description: "admin_consent_required: the tenant administrator's consent page",
  })
  adminConsentUrl?: string;
}

/** CON-2: what the CRM shows about a user's connection. */
export class ConnectionStatusDto {
  @ApiProperty({
    example: '3f1c2b4a-6d7e-4f80-9a1b-2c3d4e5f6a70',
    nullable: true,
    type: String,
    description: 'null only with status admin_consent_required (no connection was made)',
  })
  connectionId!: string | null;
  @ApiProperty({ enum: ['google', 'microsoft'], example: 'google' }) provider!: string;
  @ApiProperty({ example: 'sam@acme.example', nullable: true, type: String }) emailAddress!: string | null;
  @ApiProperty({
    enum: ['active', 'reauth_required', 'disconnected', 'admin_consent_required'],
    example: 'active',
    description:
      'admin_consent_required (CON-7): the last connect was refused because the Microsoft tenant lets only its ' +
      'administrator consent, and the user has no connection; see adminConsentUrl',
  })
  status!: string;
  @ApiProperty({ example: '2026-11-01T08:00:00.000Z', nullable: true, type: String }) connectedAt!:
    string | null;
  @ApiProperty({
    example: '2026-11-08T08:00:00.000Z',
    nullable: true,
    type: String,
    description:
      'CON-7: when the connection is expected to stop working, if predictable (e.g. a 7-day Google token)',
  })
  expiresAt!: string | null;
  @ApiProperty({ type: ConnectionWarningDto, nullable: true, description: 'CON-7: a predictable break' })
  warning!: ConnectionWarningDto | null;
  @ApiPropertyOptional({
    description: "CON-7: the tenant administrator's consent page, when a connect was refused for want of it",
  })
  adminConsentUrl?: string;
  @ApiProperty({
    example: false,
    description: "SND-7: the mailbox's signature is appended to CRM-sent mail (default off)",
  })
  appendSignature!: boolean;
  @ApiProperty({ example: '2026-11-20T09:15:00.000Z', nullable: true, type: String }) lastSyncedAt!:
    string | null;
  @ApiProperty({ type: SyncErrorDto, nullable: true }) lastError!: SyncErrorDto | null;
  @ApiProperty({ enum: ['crm_threads', 'contact_mail'], example: 'contact_mail' }) syncScope!: string;
  @ApiProperty({
    example: '2026-11-20T09:30:00.000Z',
    nullable: true,
    type: String,
    description: 'SYN-10: when the mailbox was last audited against the provider',
  })
  lastAuditAt!: string | null;
  @ApiProperty({
    enum: ['complete', 'healing', 'incomplete', null],
    nullable: true,
    example: 'complete',
    description: 'SYN-10: the last audit status (null before the first audit)',
  })
  completeness!: string | null;
}

export class AuditWindowDto {
  @ApiProperty({ example: '2026-11-19T09:28:00.000Z' }) from!: string;
  @ApiProperty({ example: '2026-11-20T09:28:00.000Z' }) to!: string;
}

export class AuditAccountedDto {
  @ApiProperty({ example: 12, description: 'Recorded in one or more conversations' }) synced!: number;
  @ApiProperty({ example: 27, description: 'Not synced by a named rule (e.g. no matching contact)' })
  notSynced!: number;
  @ApiProperty({ example: 1, description: 'Skipped with a reason shown in sync-events (e.g. ATT-1)' })
  skipped!: number;
  @ApiProperty({
    example: 0,
    description: 'Processing failed; listed in sync-events with reason quarantined',
  })
  quarantined!: number;
}

/** SYN-10: the latest completeness audit of the connection's mailbox. */
export class AuditReportDto {
  @ApiProperty({ type: AuditWindowDto }) window!: AuditWindowDto;
  @ApiProperty({ example: '2026-11-20T09:30:00.000Z' }) checkedAt!: string;
  @ApiProperty({ example: 42, description: "The provider's messages (Inbox and Sent) in the window" })
  providerMessages!: number;
  @ApiProperty({ type: AuditAccountedDto }) accounted!: AuditAccountedDto;
  @ApiProperty({ example: 2, description: 'Messages without an outcome this audit found (and re-drove)' })
  missing!: number;
  @ApiProperty({
    example: 2,
    description: 'Messages in the window an audit re-drove that now have an outcome',
  })
  healed!: number;
  @ApiProperty({
    enum: ['complete', 'healing', 'incomplete'],
    example: 'complete',
    description:
      'complete: every message has an outcome; healing: missing ones were re-driven, their outcomes pending; ' +
      'incomplete: the audit could not list or re-drive everything (provider error, more than 5,000 messages)',
  })
  status!: string;
}

export function toAuditReportDto(r: AuditReportInfo): AuditReportDto {
  return {
    window: { from: r.window.from, to: r.window.to },
    checkedAt: r.checkedAt,
    providerMessages: r.providerMessages,
    accounted: {
      synced: r.accounted.synced,
      notSynced: r.accounted.notSynced,
      skipped: r.accounted.skipped,
      quarantined: r.accounted.quarantined,
    },
    missing: r.missing,
    healed: r.healed,
    status: r.status,
  };
}

function toWarningDto(w: ConnectionWarning): ConnectionWarningDto {
  return {
    code: w.code,
    message: w.message,
    expiresAt: w.expiresAt,
    ...(w.missingScopes ? { missingScopes: [...w.missingScopes] } : {}),
    ...(w.adminConsentUrl ? { adminConsentUrl: w.adminConsentUrl } : {}),
  };
}

function adminConsentWarning(r: AdminConsentRequest): ConnectionWarning {
  return {
    code: 'admin_consent_required',
    message:
      'The Microsoft tenant lets only its administrator consent to Mailbridge. An administrator must open ' +
      'adminConsentUrl and accept; then the user connects again.',
    expiresAt: null,
    adminConsentUrl: r.adminConsentUrl,
  };
}

/**
 * CON-2 with CON-7: the connection's status and its warning, computed now (a date nearer than the warning horizon
 * shows without waiting for an event). A refused admin consent newer than the connection overrides the warning; with
 * no connection at all it is the status.
 */
export function toStatusView(
  c: ConnectionEntity | null,
  adminConsent: AdminConsentRequest | null,
  now: Date = new Date(),
): ConnectionStatusDto | null {
  if (!c) {
    if (!adminConsent) return null;
    return {
      connectionId: null,
      provider: adminConsent.provider,
      emailAddress: null,
      status: 'admin_consent_required',
      connectedAt: null,
      expiresAt: null,
      warning: toWarningDto(adminConsentWarning(adminConsent)),
      adminConsentUrl: adminConsent.adminConsentUrl,
      lastSyncedAt: null,
      lastError: null,
      syncScope: 'crm_threads',
      lastAuditAt: null,
      completeness: null,
      appendSignature: false,
    };
  }
  const dto = toStatusDto(c, now);
  if (adminConsent && adminConsent.requestedAt >= c.updatedAt) {
    return {
      ...dto,
      warning: toWarningDto(adminConsentWarning(adminConsent)),
      adminConsentUrl: adminConsent.adminConsentUrl,
    };
  }
  return dto;
}

export function toStatusDto(c: ConnectionEntity, now: Date = new Date()): ConnectionStatusDto {
  const warning = connectionWarning({
    provider: c.provider,
    status: c.status,
    grantedScopes: c.grantedScopes.split(/\s+/).filter(Boolean),
    refreshTokenExpiresAt: c.refreshExpiresAt,
    renewal: renewalOf(c),
    now,
  });
  const live = c.status === 'active' || c.status === 'reauth_required';
  return {
    connectionId: c.connectionId,
    provider: c.provider,
    emailAddress: c.emailAddress,
    // The CRM knows three states; a replaced connection is never the latest one, but say "disconnected" if it were.
    status: c.status === 'replaced' ? 'disconnected' : c.status,
    connectedAt: c.connectedAt.toISOString(),
    expiresAt: live ? (warning?.expiresAt ?? c.refreshExpiresAt?.toISOString() ?? null) : null,
    warning: warning ? toWarningDto(warning) : null,
    lastSyncedAt: c.lastSyncedAt?.toISOString() ?? null,
    lastError: c.lastError
      ? { code: c.lastError.code, message: c.lastError.message, at: c.lastError.at }
      : null,
    syncScope: c.syncScope,
    appendSignature: c.appendSignature,
    lastAuditAt: c.lastAuditAt?.toISOString() ?? null,
    completeness: c.auditReport?.status ?? null,
  };
}

export class UpdateConnectionDto {
  @ApiPropertyOptional({
    enum: ['crm_threads', 'contact_mail'],
    example: 'crm_threads',
    description: 'SYN-3 sync scope of this connection',
  })
  @IsOptional()
  @IsIn(['crm_threads', 'contact_mail'])
  syncScope?: 'crm_threads' | 'contact_mail';

  @ApiPropertyOptional({
    example: true,
    description:
      "SND-7: append the mailbox's signature (Gmail send-as signature, or `signature`) to CRM-sent mail",
  })
  @IsOptional()
  @IsBoolean()
  appendSignature?: boolean;

  @ApiPropertyOptional({
    example: 'Sam Hill\nAccount manager, Acme',
    nullable: true,
    type: String,
    description:
      'SND-7: the signature the CRM sets for this connection (plain text, at most 10,000 characters; null removes ' +
      'it). Used when the provider has none for the From address (Outlook: Graph exposes none); a Gmail send-as ' +
      'signature wins.',
  })
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsString()
  @MaxLength(10_000)
  signature?: string | null;
}

export class SendAsAddressDto {
  @ApiProperty({ example: 'sales@acme.example' }) address!: string;
  @ApiProperty({ example: 'Acme Sales', nullable: true, type: String }) displayName!: string | null;
  @ApiProperty({ example: false, description: "The mailbox's own address" }) primary!: boolean;
  @ApiProperty({
    example: '<div>Sam Hill<br>Acme</div>',
    nullable: true,
    type: String,
    description: 'Gmail send-as signature (HTML); null when the provider has none',
  })
  signature!: string | null;
}

/** SND-7: the addresses an individual send may use as From, and the signature setting. */
export class SendAsDto implements SendAsAnswer {
  @ApiProperty({ example: 'sam@acme.example' }) mailboxAddress!: string;
  @ApiProperty({
    type: [SendAsAddressDto],
    description:
      'Verified send-as addresses: Gmail primary and `accepted` aliases; Microsoft SMTP proxy addresses',
  })
  addresses!: SendAsAddressDto[];
  @ApiProperty({ example: false }) appendSignature!: boolean;
  @ApiProperty({
    example: null,
    nullable: true,
    type: String,
    description: 'The signature the CRM set for the connection (plain text)',
  })
  signature!: string | null;
}

export function toSendAsDto(p: SendAsProfile): SendAsDto {
  return toSendAsAnswer(p);
}

export class DisconnectDto {
  @ApiProperty({ example: true, description: 'Must be true: disconnecting is permanent (CON-4)' })
  @IsOptional()
  @IsBoolean()
  confirm?: boolean;
}

export class AccessTokenRequestDto {
  @ApiPropertyOptional({
    example: false,
    description: 'The provider just answered 401 with the cached token: refresh even if it looks valid',
  })
  @IsOptional()
  @IsBoolean()
  forceRefresh?: boolean;
}

export class AccessTokenDto {
  @ApiProperty({ example: '3f1c2b4a-6d7e-4f80-9a1b-2c3d4e5f6a70' }) connectionId!: string;
  @ApiProperty({ enum: ['google', 'microsoft'], example: 'google' }) provider!: string;
  @ApiProperty({ example: 'sam@acme.example' }) emailAddress!: string;
  @ApiProperty({ example: 'ya29.a0Af…', description: 'Bearer token for the provider API' })
  accessToken!: string;
  @ApiProperty({ example: '2026-11-20T10:15:00.000Z' }) expiresAt!: string;
}

export class InternalConnectionDto {
  @ApiProperty({ example: '3f1c2b4a-6d7e-4f80-9a1b-2c3d4e5f6a70' }) connectionId!: string;
  @ApiProperty({ example: 'loc_acme' }) locationId!: string;
  @ApiProperty({ example: 'usr_sam' }) userId!: string;
  @ApiProperty({ enum: ['google', 'microsoft'] }) provider!: string;
  @ApiProperty({ example: 'sam@acme.example' }) emailAddress!: string;
  @ApiProperty({ example: 'google:sam@acme.example' }) mailboxKey!: string;
  @ApiProperty({ enum: ['crm_threads', 'contact_mail'] }) syncScope!: string;
  @ApiProperty({ enum: ['active', 'reauth_required', 'disconnected', 'replaced'] }) status!: string;
  @ApiProperty({ example: '2026-11-01T08:00:00.000Z' }) connectedAt!: string;
  @ApiProperty({ nullable: true, type: String, example: null }) endedAt!: string | null;
}

export class InternalConnectionListDto {
  @ApiProperty({ type: [InternalConnectionDto], description: 'Newest first' })
  items!: InternalConnectionDto[];
}
