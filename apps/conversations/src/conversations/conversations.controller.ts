import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, CrmController } from '../common/crm-route.decorator';
import { DEFAULT_PAGE_SIZE } from '../common/cursor';
import type { ConversationEntity } from './conversation.entity';
import { ConversationsService } from './conversations.service';
import { ConversationDto, ConversationPageDto, ConversationQueryDto } from './dto/conversation.dto';

const toDto = (c: ConversationEntity): ConversationDto => ({
  id: c.conversationId,
  contactId: c.contactId,
  lastMessageAt: c.lastMessageAt.toISOString(),
  lastSubject: c.lastSubject,
  messageCount: c.messageCount,
  createdAt: c.createdAt.toISOString(),
});

@ApiTags('conversations')
@CrmController()
@Controller('v1/locations/:locationId/conversations')
export class ConversationsController {
  constructor(private readonly conversations: ConversationsService) {}

  @Get()
  @ApiOperation({
    summary: 'Conversations, newest activity first',
    description: 'One conversation per contact, created with its first message. Cursor-paginated.',
  })
  @ApiOkResponse({ type: ConversationPageDto })
  @ApiErrors({ 400: '`invalid_request` (e.g. limit over 100), `invalid_cursor`' })
  async list(
    @Param('locationId') locationId: string,
    @Query() q: ConversationQueryDto,
  ): Promise<ConversationPageDto> {
    const page = await this.conversations.page({
      locationId,
      contactId: q.contactId,
      cursor: q.cursor,
      limit: q.limit ?? DEFAULT_PAGE_SIZE,
    });
    return { items: page.items.map(toDto), nextCursor: page.nextCursor };
  }
}
