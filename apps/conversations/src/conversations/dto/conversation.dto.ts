import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { PageQueryDto } from '../../common/pagination.dto';

export class ConversationQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'ct_jane', description: "Only this contact's conversation" })
  @IsOptional()
  @Matches(/^[^\s/]{1,128}$/, { message: 'contactId must be an id without spaces or "/"' })
  contactId?: string;
}

export class ConversationDto {
  @ApiProperty({ example: '65c48b93-bcb4-5439-b207-4a7df5f6da12' }) id!: string;
  @ApiProperty({ example: 'ct_jane' }) contactId!: string;
  @ApiProperty({ example: '2026-11-20T09:14:30.000Z', description: 'Send date of its latest message' })
  lastMessageAt!: string;
  @ApiProperty({ example: 'Re: Your quote', nullable: true, type: String }) lastSubject!: string | null;
  @ApiProperty({ example: 4 }) messageCount!: number;
  @ApiProperty({ example: '2026-11-18T16:02:11.000Z' }) createdAt!: string;
}

export class ConversationPageDto {
  @ApiProperty({ type: [ConversationDto], description: 'Newest activity first' }) items!: ConversationDto[];

  @ApiProperty({
    example: null,
    nullable: true,
    type: String,
    description: 'Pass as `cursor` for the next page',
  })
  nextCursor!: string | null;
}
