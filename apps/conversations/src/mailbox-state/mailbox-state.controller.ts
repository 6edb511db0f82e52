import { Body, Controller, HttpCode, Param, Patch } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, CrmController } from '../common/crm-route.decorator';
import { uuidParam } from '../common/params';
import { MessageDto } from '../messages/dto/message.dto';
import { toMessageDto } from '../messages/message.mapper';
import { MessagesService } from '../messages/messages.service';
import { ConversationReadDto, MarkReadDto } from './dto/mark-read.dto';
import { MarkReadUseCase } from './mark-read.use-case';

/** SYN-7: the CRM marks mail read or unread; mail-gateway applies it in the mailbox. */
@ApiTags('messages')
@CrmController()
@Controller('v1/locations/:locationId')
export class MailboxStateController {
  constructor(
    private readonly markRead: MarkReadUseCase,
    private readonly messages: MessagesService,
  ) {}

  @Patch('messages/:messageId')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Mark a message read or unread, in the CRM and in its mailbox (SYN-7)',
    description:
      'Body `{ "read": true|false }`. The message shows it at once (`mailboxState`); mail-gateway then applies it in ' +
      'the Gmail / Outlook mailbox. A change the mailbox cannot take (the message was deleted there) is listed in ' +
      'sync-events as `state_change_failed`. Concurrent changes in the mailbox and the CRM: the latest wins.',
  })
  @ApiOkResponse({ type: MessageDto })
  @ApiErrors({
    400: '`invalid_request` (messageId not a UUID; body not `{ "read": boolean }`)',
    404: '`message_not_found`',
    409: '`message_not_in_mailbox`: the message is in no connected mailbox (e.g. a pending send, Auto-BCC)',
  })
  async markMessage(
    @Param('locationId') locationId: string,
    @Param('messageId', uuidParam('messageId')) messageId: string,
    @Body() body: MarkReadDto,
  ): Promise<MessageDto> {
    await this.markRead.message(locationId, messageId, body.read);
    return toMessageDto(await this.messages.get(locationId, messageId));
  }

  @Patch('conversations/:conversationId')
  @HttpCode(200)
  @ApiOperation({
    summary: "Mark a conversation's mailbox messages read or unread, in the CRM and in the mailbox (SYN-7)",
    description:
      'Body `{ "read": true|false }`. Every message of the conversation that is in a mailbox (synced, or sent ' +
      'through one) is marked; mail-gateway applies them in the mailbox in batches.',
  })
  @ApiOkResponse({ type: ConversationReadDto })
  @ApiErrors({
    400: '`invalid_request` (conversationId not a UUID; body not `{ "read": boolean }`)',
    404: '`conversation_not_found`',
  })
  async markConversation(
    @Param('locationId') locationId: string,
    @Param('conversationId', uuidParam('conversationId')) conversationId: string,
    @Body() body: MarkReadDto,
  ): Promise<ConversationReadDto> {
    const messages = await this.markRead.conversation(locationId, conversationId, body.read);
    return { conversationId, read: body.read, messages };
  }
}
