import { ApiProperty } from '@nestjs/swagger';
import { IsBoolean } from 'class-validator';

export class MarkReadDto {
  @ApiProperty({
    example: true,
    description: 'true: read; false: unread. Applied in the mailbox too (SYN-7)',
  })
  @IsBoolean()
  read!: boolean;
}

export class ConversationReadDto {
  @ApiProperty({ example: '65c48b93-bcb4-5439-b207-4a7df5f6da12' }) conversationId!: string;
  @ApiProperty({ example: true }) read!: boolean;

  @ApiProperty({
    example: 3,
    description:
      'Messages of the conversation that are in a mailbox (synced, or sent through one) and were marked',
  })
  messages!: number;
}
