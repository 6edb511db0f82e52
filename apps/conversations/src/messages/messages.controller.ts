import { Controller, Get, Header, Param, Query, StreamableFile } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, CrmController } from '../common/crm-route.decorator';
import { DEFAULT_PAGE_SIZE } from '../common/cursor';
import { PageQueryDto } from '../common/pagination.dto';
import { uuidParam } from '../common/params';
import { MessageDto, MessagePageDto } from './dto/message.dto';
import { toMessageDto } from './message.mapper';
import { MessagesService } from './messages.service';

@ApiTags('messages')
@CrmController()
@Controller('v1/locations/:locationId')
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  @Get('conversations/:conversationId/messages')
  @ApiOperation({
    summary: "A conversation's messages in send order (SYN-6)",
    description:
      'Ordered by the date each message was sent (whole seconds, like a Date header), then when the provider ' +
      'received it (a pending CRM send: when it was requested), then arrival; a reply is never listed before the ' +
      'message it answers. Cursor-paginated, stable under inserts.',
  })
  @ApiOkResponse({ type: MessagePageDto })
  @ApiErrors({
    400: '`invalid_request` (conversationId not a UUID, limit over 100), `invalid_cursor`',
    404: '`conversation_not_found`',
  })
  async list(
    @Param('locationId') locationId: string,
    @Param('conversationId', uuidParam('conversationId')) conversationId: string,
    @Query() q: PageQueryDto,
  ): Promise<MessagePageDto> {
    const page = await this.messages.page({
      locationId,
      conversationId,
      cursor: q.cursor,
      limit: q.limit ?? DEFAULT_PAGE_SIZE,
    });
    return { items: page.items.map(toMessageDto), nextCursor: page.nextCursor };
  }

  @Get('messages/:messageId')
  @ApiOperation({ summary: 'One message, with its status and failure reason' })
  @ApiOkResponse({ type: MessageDto })
  @ApiErrors({ 400: '`invalid_request` (messageId not a UUID)', 404: '`message_not_found`' })
  async get(
    @Param('locationId') locationId: string,
    @Param('messageId', uuidParam('messageId')) messageId: string,
  ): Promise<MessageDto> {
    return toMessageDto(await this.messages.get(locationId, messageId));
  }

  @Get('attachments/:attachmentId')
  @Header('X-Content-Type-Options', 'nosniff')
  @ApiOperation({ summary: "An attachment's bytes, with its detected content type and Content-Disposition" })
  @ApiOkResponse({
    description: 'The bytes (ATT-3: from the object store), as the detected type, e.g. application/pdf',
    content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
  })
  @ApiErrors({
    400: '`invalid_request` (attachmentId not a UUID)',
    404: '`attachment_not_found`, `attachment_omitted` (left behind under ATT-1/ATT-2)',
  })
  async download(
    @Param('locationId') locationId: string,
    @Param('attachmentId', uuidParam('attachmentId')) attachmentId: string,
  ): Promise<StreamableFile> {
    const file = await this.messages.download(locationId, attachmentId);
    return new StreamableFile(file.stream, {
      type: file.contentType,
      disposition: file.disposition,
      length: file.size,
    });
  }
}
