import { ApiProperty } from '@nestjs/swagger';

export class SmartBccDto {
  @ApiProperty({ example: 'bcc-m3xq7c2k5vd4h6aq2yb7nrw3fe@bcc.mailbridge.localhost' }) address!: string;
  @ApiProperty({ example: 'loc_acme' }) locationId!: string;
  @ApiProperty({ example: 'usr_sam' }) userId!: string;
}

export class SmartBccOwnerDto {
  @ApiProperty({ example: 'loc_acme' }) locationId!: string;
  @ApiProperty({ example: 'usr_sam' }) userId!: string;
  @ApiProperty({ nullable: true, type: String, example: '3f1c2b4a-6d7e-4f80-9a1b-2c3d4e5f6a70' })
  connectionId!: string | null;
  @ApiProperty({ nullable: true, type: String, example: 'sam@acme.example' }) emailAddress!: string | null;
}
