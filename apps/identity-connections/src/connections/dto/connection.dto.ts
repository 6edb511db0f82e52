import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional } from 'class-validator';
import type { ConnectionEntity } from '../connection.entity';

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
