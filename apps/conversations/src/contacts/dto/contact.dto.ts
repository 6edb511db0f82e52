import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsISO8601, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export class UpsertContactDto {
  @ApiProperty({ example: 'jane.doe@example.com', maxLength: 320 })
  @IsEmail({ allow_display_name: false, require_tld: false }, { message: 'email must be an email address' })
  @MaxLength(320)
  email!: string;

  @ApiPropertyOptional({ example: 'Jane Doe', nullable: true, maxLength: 512 })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  name?: string | null;

  @ApiPropertyOptional({
    example: 'usr_sam',
    nullable: true,
    description: 'The CRM user the contact is assigned to',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[^\s/]{1,128}$/, { message: 'assignedUserId must be an id without spaces or "/"' })
  assignedUserId?: string | null;

  @ApiPropertyOptional({
    example: '2026-11-01T08:00:00.000Z',
    description: 'When the CRM created the contact; defaults to now on first upsert',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  createdAt?: string;
}

export class ContactDto {
  @ApiProperty({ example: 'loc_acme' }) locationId!: string;
  @ApiProperty({ example: 'ct_jane' }) contactId!: string;
  @ApiProperty({ example: 'jane.doe@example.com' }) email!: string;
  @ApiProperty({ example: 'Jane Doe', nullable: true, type: String }) name!: string | null;
  @ApiProperty({ example: 'usr_sam', nullable: true, type: String }) assignedUserId!: string | null;
  @ApiProperty({ example: '2026-11-01T08:00:00.000Z' }) createdAt!: string;
  @ApiProperty({ example: '2026-11-20T09:15:00.000Z' }) updatedAt!: string;
  @ApiProperty({ example: 3 }) revision!: number;
}

export class ContactListDto {
  @ApiProperty({ type: [ContactDto] }) items!: ContactDto[];
}

export class ContactQueryDto {
  @ApiPropertyOptional({
    example: 'jane.doe@example.com',
    description: 'Exact address, case-insensitive (ADR-5)',
  })
  @IsOptional()
  @IsString()
  @MaxLength(320)
  email?: string;
}
