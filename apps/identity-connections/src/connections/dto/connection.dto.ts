import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional } from 'class-validator';
import type { AuditReportInfo, ConnectionEntity } from '../connection.entity';

export class SyncErrorDto {
  @ApiProperty({ example: 'provider_throttled' }) code!: string;
  @ApiProperty({ example: 'Gmail answered 429 for 10 minutes' }) message!: string;
  @ApiProperty({ example: '2026-11-20T09:15:00.000Z' }) at!: string;
}

/** CON-2: what the CRM shows about a user's connection. */
export class ConnectionStatusDto {
  @ApiProperty({ example: '3f1c2b4a-6d7e-4f80-9a1b-2c3d4e5f6a70' }) connectionId!: string;
  @ApiProperty({ enum: ['google', 'microsoft'], example: 'google' }) provider!: string;
  @ApiProperty({ example: 'sam@acme.example' }) emailAddress!: string;
  @ApiProperty({ enum: ['active', 'reauth_required', 'disconnected'], example: 'active' }) status!: string;
  @ApiProperty({ example: '2026-11-01T08:00:00.000Z' }) connectedAt!: string;
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

export function toStatusDto(c: ConnectionEntity): ConnectionStatusDto {
  return {
    connectionId: c.connectionId,
    provider: c.provider,
    emailAddress: c.emailAddress,
    // The CRM knows three states; a replaced connection is never the latest one, but say "disconnected" if it were.
    status: c.status === 'replaced' ? 'disconnected' : c.status,
    connectedAt: c.connectedAt.toISOString(),
    lastSyncedAt: c.lastSyncedAt?.toISOString() ?? null,
    lastError: c.lastError
      ? { code: c.lastError.code, message: c.lastError.message, at: c.lastError.at }
      : null,
    syncScope: c.syncScope,
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
