import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsEmail,
  IsIn,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  MaxLength,
  MinLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { IsBase64Text } from './is-base64-text';

export const MAX_ATTACHMENTS = 20;
export const MAX_ADDRESSES_PER_FIELD = 100;
export const MAX_SUBJECT_CHARS = 1000;
export const MAX_BODY_CHARS = 1_000_000;

export class EmailAddressDto {
  @ApiProperty({ example: 'jane.doe@example.com', maxLength: 320 })
  @IsEmail({ allow_display_name: false, require_tld: false }, { message: 'address must be an email address' })
  @MaxLength(320)
  address!: string;

  @ApiPropertyOptional({ example: 'Jane Doe', maxLength: 512 })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  @Matches(/^[^\r\n]*$/, { message: 'name must be on one line' })
  name?: string;
}

export class InlineAttachmentDto {
  @ApiProperty({ example: 'quote.pdf', maxLength: 255 }) filename!: string;

  @ApiProperty({
    example: 'application/pdf',
    description: 'Informative only: the type is detected from the content (ATT-2)',
  })
  contentType!: string;

  @ApiProperty({
    example: 'JVBERi0xLjQKJcfsj6IK',
    description:
      'The bytes, base64. The whole request is limited by SEND_BODY_LIMIT_BYTES; upload bigger files first',
  })
  contentBase64!: string;
}

export class UploadedAttachmentDto {
  @ApiProperty({ example: 'b3d1f0e2-6a4c-4f1e-9d7a-2c5b8e0f1a3d', description: 'From POST /uploads' })
  uploadId!: string;
}

/** Validates both attachment forms; the document describes them as a oneOf. */
export class OutgoingAttachmentDto {
  @IsOptional()
  @IsUUID('all', { message: 'uploadId must be a UUID' })
  uploadId?: string;

  @ValidateIf((a: OutgoingAttachmentDto) => a.uploadId === undefined)
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  @Matches(/^[^\r\n\\/]*$/, { message: 'filename must be a plain file name' })
  filename?: string;

  @ValidateIf((a: OutgoingAttachmentDto) => a.uploadId === undefined)
  @IsString()
  @MaxLength(255)
  contentType?: string;

  @ValidateIf((a: OutgoingAttachmentDto) => a.uploadId === undefined)
  @IsString()
  @IsBase64Text({ message: 'contentBase64 must be base64' })
  contentBase64?: string;
}

@ApiExtraModels(InlineAttachmentDto, UploadedAttachmentDto)
export class SendEmailDto {
  @ApiProperty({
    enum: ['individual', 'bulk', 'workflow'],
    example: 'individual',
    description: "SND-1..3: an individual email goes through the user's mailbox when connected",
  })
  @IsIn(['individual', 'bulk', 'workflow'])
  kind!: 'individual' | 'bulk' | 'workflow';

  @ApiProperty({
    example: 'usr_sam',
    description: "The sending CRM user; for `individual`, the token's own user",
  })
  @IsString()
  @Matches(/^[^\s/]{1,128}$/, { message: 'userId must be an id without spaces or "/"' })
  userId!: string;

  @ApiPropertyOptional({
    type: EmailAddressDto,
    description:
      'Defaults to the connected address. An individual send may use any verified send-as address of the mailbox ' +
      '(SND-7, listed by identity-connections GET …/email-connection/send-as); anything else is 422 from_not_verified',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => EmailAddressDto)
  from?: EmailAddressDto;

  @ApiPropertyOptional({
    type: [EmailAddressDto],
    maxItems: MAX_ADDRESSES_PER_FIELD,
    description: "Defaults to the contact's address",
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_ADDRESSES_PER_FIELD)
  @ValidateNested({ each: true })
  @Type(() => EmailAddressDto)
  to?: EmailAddressDto[];

  @ApiPropertyOptional({ type: [EmailAddressDto], maxItems: MAX_ADDRESSES_PER_FIELD })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_ADDRESSES_PER_FIELD)
  @ValidateNested({ each: true })
  @Type(() => EmailAddressDto)
  cc?: EmailAddressDto[];

  @ApiPropertyOptional({ type: [EmailAddressDto], maxItems: MAX_ADDRESSES_PER_FIELD })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_ADDRESSES_PER_FIELD)
  @ValidateNested({ each: true })
  @Type(() => EmailAddressDto)
  bcc?: EmailAddressDto[];

  @ApiProperty({ example: 'Your quote', maxLength: MAX_SUBJECT_CHARS })
  @IsString()
  @MaxLength(MAX_SUBJECT_CHARS)
  subject!: string;

  @ApiPropertyOptional({ example: 'Hi Jane, here is the quote.', maxLength: MAX_BODY_CHARS })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_BODY_CHARS)
  text?: string;

  @ApiPropertyOptional({ example: '<p>Hi Jane, here is the quote.</p>', maxLength: MAX_BODY_CHARS })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_BODY_CHARS)
  html?: string;

  @ApiPropertyOptional({
    type: 'array',
    maxItems: MAX_ATTACHMENTS,
    items: {
      oneOf: [{ $ref: getSchemaPath(InlineAttachmentDto) }, { $ref: getSchemaPath(UploadedAttachmentDto) }],
    },
    description: 'ATT-1/ATT-2: checked by content and size before anything is stored or sent',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_ATTACHMENTS)
  @ValidateNested({ each: true })
  @Type(() => OutgoingAttachmentDto)
  attachments?: OutgoingAttachmentDto[];

  @ApiPropertyOptional({
    example: '5b0e8a56-8c1a-4d5e-9a7b-0c2f4e6d8a10',
    description: 'A message of this conversation to reply to: the email is threaded with it (SND-5)',
  })
  @IsOptional()
  @IsUUID('all', { message: 'replyToMessageId must be a UUID' })
  replyToMessageId?: string;
}

export class SendEmailAcceptedDto {
  @ApiProperty({
    example: '5b0e8a56-8c1a-4d5e-9a7b-0c2f4e6d8a10',
    description: 'Also the send id through the whole flow',
  })
  messageId!: string;

  @ApiProperty({ example: '65c48b93-bcb4-5439-b207-4a7df5f6da12' }) conversationId!: string;
  @ApiProperty({ enum: ['pending'], example: 'pending' }) status!: 'pending';
}

export class UploadDto {
  @ApiProperty({
    example: 'b3d1f0e2-6a4c-4f1e-9d7a-2c5b8e0f1a3d',
    description: 'Use as `{ uploadId }` in a send',
  })
  uploadId!: string;

  @ApiProperty({ example: 'site-photos.zip' }) filename!: string;
  @ApiProperty({ example: 5242880 }) size!: number;
  @ApiProperty({ example: 'application/zip', description: 'Detected from the content (ATT-2)' })
  contentType!: string;
}
