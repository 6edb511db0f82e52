import { ApiProperty } from '@nestjs/swagger';
import { IsBoolean, IsOptional } from 'class-validator';
import { ExclusionAddresses, ExclusionDomains } from '@mailbridge/platform-runtime';

export class PutSyncExclusionsDto {
  @ExclusionAddresses()
  addresses!: string[];

  @ExclusionDomains()
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
