import { ApiProperty } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsEmail,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
} from 'class-validator';
import { EXCLUSION_DOMAIN_PATTERN, SYNC_EXCLUSION_LIMITS } from '@mailbridge/domain-mail';

export class PutSyncExclusionsDto {
  @ApiProperty({
    type: [String],
    example: ['doctor@clinic.example'],
    maxItems: SYNC_EXCLUSION_LIMITS.addresses,
    description: 'Whole addresses, matched case-insensitively (ADR-5)',
  })
  @IsArray()
  @ArrayMaxSize(SYNC_EXCLUSION_LIMITS.addresses)
  @IsEmail(
    { allow_display_name: false, require_tld: false },
    { each: true, message: 'addresses must be email addresses' },
  )
  @MaxLength(320, { each: true })
  addresses!: string[];

  @ApiProperty({
    type: [String],
    example: ['bank.example'],
    maxItems: SYNC_EXCLUSION_LIMITS.domains,
    description:
      'Domains without `@`; a domain covers its subdomains (`bank.example` also `mail.bank.example`)',
  })
  @IsArray()
  @ArrayMaxSize(SYNC_EXCLUSION_LIMITS.domains)
  @IsString({ each: true })
  @Matches(EXCLUSION_DOMAIN_PATTERN, {
    each: true,
    message: 'domains must be domain names like bank.example',
  })
  domains!: string[];

  @ApiProperty({
    example: true,
    required: false,
    description:
      'Mail between users of this location (every party a connected user of it) is not synced; default false',
  })
  @IsOptional()
  @IsBoolean()
  betweenLocationUsers?: boolean;
}

export class SyncExclusionsDto {
  @ApiProperty({ type: [String], example: ['doctor@clinic.example'] }) addresses!: string[];
  @ApiProperty({ type: [String], example: ['bank.example'] }) domains!: string[];
  @ApiProperty({ example: true }) betweenLocationUsers!: boolean;
  @ApiProperty({ example: 2, description: '0 until the first PUT; +1 with every change' }) revision!: number;
  @ApiProperty({ example: '2026-11-20T09:30:00.000Z', nullable: true, type: String }) updatedAt!:
    string | null;
}
