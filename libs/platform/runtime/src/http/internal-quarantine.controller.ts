import { Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { QuarantineStatus } from '@mailbridge/platform-persistence';
import { InternalAuthGuard } from '../auth/auth.guards';
import { EventQuarantine } from '../messaging/event-quarantine';
import { AppError } from './app-error';
import { ApiPlatformErrors, jsonObject } from './api-docs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STATUSES: readonly QuarantineStatus[] = ['quarantined', 'resolved'];

/**
 * Every service's quarantined events (SYN-10): list them, retry one once its fault is fixed. For operators and the
 * `npm run quarantine` CLI; not exposed by the ingress. mail-gateway's quarantined provider messages are elsewhere
 * (`/internal/quarantine/messages`).
 */
@ApiTags('internal')
@ApiBearerAuth('internal')
@ApiPlatformErrors({ 401: '`unauthorized`: the internal service credential is missing or wrong' })
@UseGuards(InternalAuthGuard)
@Controller('internal/quarantine')
export class InternalQuarantineController {
  constructor(private readonly quarantine: EventQuarantine) {}

  @Get()
  @ApiOperation({ summary: 'Events a consumer of this service gave up on, oldest first' })
  @ApiQuery({ name: 'status', required: false, enum: STATUSES })
  @ApiQuery({ name: 'limit', required: false, description: '1-200, default 50' })
  @ApiQuery({ name: 'after', required: false, description: 'The last id of the previous page' })
  @ApiOkResponse({
    description: '{ items: [...], nextAfter }',
    schema: jsonObject(
      {
        items: { type: 'array', items: { type: 'object', additionalProperties: true } },
        nextAfter: { type: 'string', nullable: true },
      },
      ['items', 'nextAfter'],
    ),
  })
  @ApiPlatformErrors({ 400: '`invalid_status`, `invalid_limit`, `invalid_after`' })
  async list(
    @Query('status') status?: string,
    @Query('limit') limit?: string,
    @Query('after') after?: string,
  ) {
    if (status !== undefined && !STATUSES.includes(status as QuarantineStatus))
      throw new AppError('validation', 'invalid_status', `status must be one of ${STATUSES.join(', ')}`);
    const n = limit === undefined ? 50 : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 200)
      throw new AppError('validation', 'invalid_limit', 'limit must be an integer from 1 to 200');
    if (after !== undefined && !UUID.test(after))
      throw new AppError('validation', 'invalid_after', 'after must be a quarantine item id');
    const items = await this.quarantine.list({
      status: status as QuarantineStatus | undefined,
      limit: n,
      after,
    });
    return { items, nextAfter: items.length === n ? items[items.length - 1].id : null };
  }

  @Post(':id/retry')
  @HttpCode(200)
  @ApiOperation({
    summary: "Runs the consumer's handler for a quarantined event again",
    description:
      'outcome `resolved`: it succeeded (its effect recorded once) and the item is resolved; `failed`: it stays ' +
      'quarantined with the new error; `already_resolved`: nothing was done.',
  })
  @ApiOkResponse({
    description: '{ outcome, item, error? }',
    schema: jsonObject({ outcome: { type: 'string', enum: ['resolved', 'failed', 'already_resolved'] } }, [
      'outcome',
    ]),
  })
  @ApiPlatformErrors({ 400: '`invalid_id`', 404: 'no quarantine item with this id' })
  async retry(@Param('id') id: string) {
    if (!UUID.test(id)) throw new AppError('validation', 'invalid_id', 'id must be a quarantine item id');
    return this.quarantine.retry(id);
  }
}
