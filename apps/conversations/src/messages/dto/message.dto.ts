import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class AddressDto {
  @ApiPropertyOptional({ example: 'Jane Doe', maxLength: 512 }) name?: string;
  @ApiProperty({ example: 'jane.doe@example.com', maxLength: 320 }) address!: string;
}

export class MessageAttachmentDto {
  @ApiProperty({
    example: '7a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
    description: 'Download with GET /attachments/{id}',
  })
  id!: string;

  @ApiProperty({ example: 'quote.pdf' }) filename!: string;

  @ApiProperty({ example: 'application/pdf', description: 'The type of the content, as detected (ATT-2)' })
  contentType!: string;

  @ApiProperty({ example: 48213, description: 'Bytes' }) size!: number;

  @ApiPropertyOptional({
    example: 'attachment_type_unsupported',
    description:
      'Set when the bytes were left behind (ATT-1 strip policy, ATT-2); the attachment cannot be downloaded',
  })
  omittedReason?: string;
}

export class MessageProviderDto {
  @ApiProperty({ enum: ['google', 'microsoft', null], nullable: true, example: 'google', type: String })
  name!: string | null;

  @ApiProperty({ example: '18c2f0a1b2c3d4e5', nullable: true, type: String }) messageId!: string | null;
  @ApiProperty({ example: '18c2f0a1b2c3d4e0', nullable: true, type: String }) threadId!: string | null;
}

export class MessageFailureDto {
  @ApiProperty({ example: 'sending_cap_reached' }) code!: string;
  @ApiProperty({ example: 'The Gmail mailbox reached its cap of 500 individual emails per 24 hours' })
  message!: string;
}

export class BouncedRecipientDto {
  @ApiProperty({ example: 'jane.doe@example.com' }) address!: string;
  @ApiProperty({ example: '5.1.1', nullable: true, type: String, description: 'RFC 3463 status code' })
  status!: string | null;
  @ApiProperty({
    example: '550-5.1.1 The email account that you tried to reach does not exist.',
    nullable: true,
    type: String,
  })
  diagnostic!: string | null;
}

export class MessageBounceDto {
  @ApiProperty({
    example: '5.1.1',
    nullable: true,
    type: String,
    description: 'Status code of the first failed recipient',
  })
  status!: string | null;
  @ApiProperty({
    example: '550-5.1.1 The email account that you tried to reach does not exist.',
    nullable: true,
    type: String,
    description: "The remote server's answer",
  })
  diagnostic!: string | null;
  @ApiProperty({ type: [BouncedRecipientDto] }) recipients!: BouncedRecipientDto[];
  @ApiProperty({ example: '2026-11-20T09:15:58.000Z' }) bouncedAt!: string;
  @ApiProperty({
    example: '7a3e2c1d-4b5f-4a6e-8d9c-0b1a2c3d4e5f',
    nullable: true,
    type: String,
    description: 'The non-delivery report, as a message of the conversation',
  })
  bounceMessageId!: string | null;
}

export class MessageMailboxStateDto {
  @ApiProperty({ example: true, description: 'Read in the mailbox' }) read!: boolean;
  @ApiProperty({ example: false, description: 'In the mailbox trash (Gmail Trash, Outlook Deleted Items)' })
  trashed!: boolean;

  @ApiProperty({
    example: false,
    description:
      'Deleted from the mailbox for good. The CRM keeps the message (flagged); a location policy may hide it from the conversation list',
  })
  deleted!: boolean;

  @ApiProperty({
    example: '2026-11-20T09:19:58.000Z',
    nullable: true,
    type: String,
    description: 'The latest change, in the mailbox or in the CRM (last writer wins, SYN-7)',
  })
  changedAt!: string | null;
}

export class MessageDto {
  @ApiProperty({ example: '5b0e8a56-8c1a-4d5e-9a7b-0c2f4e6d8a10' }) id!: string;
  @ApiProperty({ example: '65c48b93-bcb4-5439-b207-4a7df5f6da12' }) conversationId!: string;
  @ApiProperty({ example: 'ct_jane' }) contactId!: string;

  @ApiProperty({
    example: 'usr_sam',
    nullable: true,
    type: String,
    description: 'The CRM user who sent it or whose mailbox it came from',
  })
  userId!: string | null;

  @ApiProperty({ enum: ['inbound', 'outbound'], example: 'outbound' }) direction!: string;

  @ApiProperty({
    enum: ['crm', 'mailbox', 'smart_bcc'],
    example: 'crm',
    description:
      '`crm`: sent from the CRM; `mailbox`: synced from the mailbox; `smart_bcc`: recorded through Auto-BCC',
  })
  source!: string;

  @ApiProperty({
    enum: ['pending', 'sent', 'failed', 'received', 'bounced'],
    example: 'sent',
    description: '`bounced`: a CRM send a non-delivery report came back for (SYN-9; the reason in `bounce`)',
  })
  status!: string;

  @ApiProperty({
    enum: ['human', 'auto_reply', 'bounce', 'bulk', null],
    nullable: true,
    type: String,
    example: 'human',
    description:
      'SYN-9, received messages only: who wrote it. `auto_reply` (out-of-office, autoresponder), `bounce` (a non-delivery report), `bulk` (lists, newsletters); null on what the user sent',
  })
  classification!: string | null;

  @ApiProperty({ type: MessageBounceDto, nullable: true, description: 'SYN-9: why a CRM send bounced' })
  bounce!: MessageBounceDto | null;

  @ApiProperty({
    // OpenAPI 3.0: a nullable enum lists null among its values.
    enum: ['individual', 'bulk', 'workflow', null],
    nullable: true,
    example: 'individual',
    type: String,
  })
  kind!: string | null;

  @ApiProperty({ type: AddressDto, nullable: true }) from!: AddressDto | null;
  @ApiProperty({ type: [AddressDto] }) to!: AddressDto[];
  @ApiProperty({ type: [AddressDto] }) cc!: AddressDto[];

  @ApiPropertyOptional({ type: [AddressDto], description: 'Only on outbound messages' })
  bcc?: AddressDto[];

  @ApiProperty({ example: 'Your quote' }) subject!: string;
  @ApiProperty({ example: 'Hi Jane, here is the quote.', nullable: true, type: String }) text!: string | null;
  @ApiProperty({ example: '<p>Hi Jane, here is the quote.</p>', nullable: true, type: String }) html!:
    string | null;

  @ApiProperty({
    example: '2026-11-20T09:14:30.000Z',
    nullable: true,
    type: String,
    description: 'When it was sent (the Date header); null while a CRM send is pending',
  })
  sentAt!: string | null;

  @ApiProperty({ example: '2026-11-20T09:14:32.000Z', nullable: true, type: String }) receivedAt!:
    string | null;
  @ApiProperty({ example: '2026-11-20T09:14:33.000Z', description: 'When the CRM recorded it' })
  createdAt!: string;
  @ApiProperty({ type: [MessageAttachmentDto] }) attachments!: MessageAttachmentDto[];
  @ApiProperty({ type: MessageProviderDto }) provider!: MessageProviderDto;

  @ApiProperty({ type: MessageFailureDto, nullable: true, description: 'Why a CRM send failed' })
  failure!: MessageFailureDto | null;

  @ApiProperty({
    type: MessageMailboxStateDto,
    nullable: true,
    description:
      'SYN-7: the state of the message in the mailbox it came from (or was sent through), mirrored both ways; null until a change is known',
  })
  mailboxState!: MessageMailboxStateDto | null;
}

export class MessagePageDto {
  @ApiProperty({
    type: [MessageDto],
    description:
      'In send order (SYN-6): sent date (whole seconds), then when the provider received it, then arrival',
  })
  items!: MessageDto[];

  @ApiProperty({
    example: null,
    nullable: true,
    type: String,
    description: 'Pass as `cursor` for the next page',
  })
  nextCursor!: string | null;
}
