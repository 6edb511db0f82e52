import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { ApiPlatformErrors, AppError, InternalAuthGuard, jsonObject } from '@mailbridge/platform-runtime';
import { CrmSendRepository } from '../sending/crm-send.repository';
import { ThreadBindingRepository } from '../threads/thread-binding.repository';
import { MessageDecisionRepository } from '../inbound/message-decision.repository';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Read-only: why a message synced or not, and which threads are bound. For operators; not exposed by the ingress. */
@ApiTags('internal')
@ApiBearerAuth('internal')
@ApiPlatformErrors({ 401: '`unauthorized`: the internal service credential is missing or wrong' })
@UseGuards(InternalAuthGuard)
@Controller('internal')
export class InternalDecisionsController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly decisions: MessageDecisionRepository,
    private readonly sends: CrmSendRepository,
    private readonly bindings: ThreadBindingRepository,
  ) {}

  @Get('decisions')
  @ApiOperation({
    summary: 'Why a message was delivered or skipped',
    description:
      'messageId is a provider message id, an RFC Message-ID (with its angle brackets) or a CRM message id (a send). ' +
      'Each decision lists its rule ids and the steps that led to it.',
  })
  @ApiQuery({ name: 'messageId', required: true })
  @ApiOkResponse({
    description: '{ messages: [...], sends: [...] }',
    schema: jsonObject(
      { messages: { type: 'array', items: jsonObject() }, sends: { type: 'array', items: jsonObject() } },
      ['messages', 'sends'],
    ),
  })
  @ApiPlatformErrors({ 400: '`message_id_required`' })
  async find(@Query('messageId') messageId?: string) {
    if (!messageId || messageId.length > 1024)
      throw new AppError('validation', 'message_id_required', 'messageId query parameter is required');
    const db = this.dataSource.manager;
    const [messages, sends] = await Promise.all([
      this.decisions.find(db, messageId, 50),
      this.sends.findForInspection(db, UUID.test(messageId) ? messageId : null, messageId),
    ]);
    return { messages, sends };
  }

  @Get('bindings')
  @ApiOperation({
    summary: 'Thread bindings of a location (optionally of one conversation), with their keys',
  })
  @ApiQuery({ name: 'locationId', required: true })
  @ApiQuery({ name: 'conversationId', required: false })
  @ApiOkResponse({
    description: '{ items: [...] } (at most 200)',
    schema: jsonObject({ items: { type: 'array', items: jsonObject() } }, ['items']),
  })
  @ApiPlatformErrors({ 400: '`location_required`, `invalid_conversation_id`' })
  async listBindings(
    @Query('locationId') locationId?: string,
    @Query('conversationId') conversationId?: string,
  ) {
    if (!locationId)
      throw new AppError('validation', 'location_required', 'locationId query parameter is required');
    if (conversationId && !UUID.test(conversationId))
      throw new AppError('validation', 'invalid_conversation_id', 'conversationId must be a UUID');
    return { items: await this.bindings.list(this.dataSource.manager, { locationId, conversationId }, 200) };
  }
}
