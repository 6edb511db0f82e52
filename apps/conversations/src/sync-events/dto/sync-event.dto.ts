import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { PageQueryDto } from '../../common/pagination.dto';
import { AddressDto } from '../../messages/dto/message.dto';

const CRM_ID = /^[^\s/]{1,128}$/;

export class SyncEventQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'ct_jane', description: 'Only events about this contact' })
  @IsOptional()
  @Matches(CRM_ID, { message: 'contactId must be an id without spaces or "/"' })
  contactId?: string;

  @ApiPropertyOptional({ example: 'usr_sam', description: "Only events of this user's mailbox or sends" })
  @IsOptional()
  @Matches(CRM_ID, { message: 'userId must be an id without spaces or "/"' })
  userId?: string;
}

export class SyncEventDto {
  @ApiProperty({ example: '0d9e4c1a-3b7f-4e8a-9c2d-5f6a7b8c9d0e' }) id!: string;

  @ApiProperty({
    enum: ['message_skipped', 'send_failed', 'sync_gap', 'state_change_failed'],
    example: 'message_skipped',
    description:
      'A mailbox message that did not sync, a CRM send that failed, or a time range that may not have synced',
  })
  kind!: string;

  @ApiProperty({ example: 'attachment_too_large', description: 'Machine-readable reason' })
  reason!: string;

  @ApiProperty({ example: 'ATT-1', nullable: true, type: String, description: 'The sync rule behind it' })
  rule!: string | null;

  @ApiProperty({ example: 'site.zip is 7.2 MB; Outlook attachments sync up to 3 MB' }) detail!: string;
  @ApiProperty({ example: 'ct_jane', nullable: true, type: String }) contactId!: string | null;
  @ApiProperty({ example: 'usr_sam', nullable: true, type: String }) userId!: string | null;

  @ApiProperty({ example: '3f1c2b4a-6d7e-4f80-9a1b-2c3d4e5f6a70', nullable: true, type: String })
  connectionId!: string | null;

  @ApiProperty({
    example: null,
    nullable: true,
    type: String,
    description: 'For `send_failed`: the CRM message that was not sent',
  })
  messageId!: string | null;

  @ApiProperty({ example: 'AAMkAGI2T...', nullable: true, type: String }) providerMessageId!: string | null;
  @ApiProperty({ example: 'Site photos', nullable: true, type: String }) subject!: string | null;
  @ApiProperty({ type: AddressDto, nullable: true }) from!: AddressDto | null;

  @ApiProperty({
    example: null,
    nullable: true,
    type: String,
    description: 'For `sync_gap`: start of the range that may be missing',
  })
  rangeFrom!: string | null;

  @ApiProperty({ example: null, nullable: true, type: String }) rangeTo!: string | null;
  @ApiProperty({ example: '2026-11-20T09:15:00.000Z' }) occurredAt!: string;
}

export class SyncEventPageDto {
  @ApiProperty({ type: [SyncEventDto] }) items!: SyncEventDto[];

  @ApiProperty({
    example: null,
    nullable: true,
    type: String,
    description: 'Pass as `cursor` for the next page',
  })
  nextCursor!: string | null;
}
