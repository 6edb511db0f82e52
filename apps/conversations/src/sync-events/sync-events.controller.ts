import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, CrmController } from '../common/crm-route.decorator';
import { DEFAULT_PAGE_SIZE } from '../common/cursor';
import { SyncEventDto, SyncEventPageDto, SyncEventQueryDto } from './dto/sync-event.dto';
import type { SyncEventEntity } from './sync-event.entity';
import { SyncEventsService } from './sync-events.service';

const toDto = (e: SyncEventEntity): SyncEventDto => ({
  id: e.syncEventId,
  kind: e.kind,
  reason: e.reason,
  rule: e.rule,
  detail: e.detail,
  contactId: e.contactId,
  userId: e.userId,
  connectionId: e.connectionId,
  messageId: e.messageId,
  providerMessageId: e.providerMessageId,
  subject: e.subject,
  from: e.from,
  rangeFrom: e.rangeFrom?.toISOString() ?? null,
  rangeTo: e.rangeTo?.toISOString() ?? null,
  occurredAt: e.occurredAt.toISOString(),
});

@ApiTags('sync events')
@CrmController()
@Controller('v1/locations/:locationId/sync-events')
export class SyncEventsController {
  constructor(private readonly syncEvents: SyncEventsService) {}

  @Get()
  @ApiOperation({
    summary: 'Messages that were skipped or failed, and sync gaps, newest first',
    description: 'Nothing disappears silently: ATT-1 skips, SND-4 and other send failures, CON-5 sync gaps.',
  })
  @ApiOkResponse({ type: SyncEventPageDto })
  @ApiErrors({ 400: '`invalid_request` (e.g. limit over 100), `invalid_cursor`' })
  async list(
    @Param('locationId') locationId: string,
    @Query() q: SyncEventQueryDto,
  ): Promise<SyncEventPageDto> {
    const page = await this.syncEvents.page({
      locationId,
      contactId: q.contactId,
      userId: q.userId,
      cursor: q.cursor,
      limit: q.limit ?? DEFAULT_PAGE_SIZE,
    });
    return { items: page.items.map(toDto), nextCursor: page.nextCursor };
  }
}
