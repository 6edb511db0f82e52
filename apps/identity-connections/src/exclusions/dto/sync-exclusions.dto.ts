import { ApiProperty } from '@nestjs/swagger';
import { ExclusionAddresses, ExclusionDomains } from '@mailbridge/platform-runtime';

export class PutConnectionSyncExclusionsDto {
  @ExclusionAddresses()
  addresses!: string[];

  @ExclusionDomains()
  domains!: string[];
}

export class ConnectionSyncExclusionsDto {
  @ApiProperty({ type: [String], example: ['doctor@clinic.example'] }) addresses!: string[];
  @ApiProperty({ type: [String], example: ['bank.example'] }) domains!: string[];
  @ApiProperty({ example: 1, description: '0 until the first PUT; +1 with every change' }) revision!: number;
  @ApiProperty({ example: '2026-11-20T09:30:00.000Z', nullable: true, type: String }) updatedAt!:
    string | null;
}
