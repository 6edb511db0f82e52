import { Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ApiPlatformErrors, AppError, InternalAuthGuard, jsonObject } from '@mailbridge/platform-runtime';
import { MessageFailuresRepository, type MessageFailure } from './message-failures.repository';
import { RetryQuarantinedMessageUseCase } from './retry-quarantined-message.use-case';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const view = (f: MessageFailure) => ({
  id: f.id,
  mailboxId: f.mailboxId,
  providerMessageId: f.providerMessageId,
  stage: f.stage,
  errorClass: f.errorClass,
  error: f.errorMessage,
  attempts: f.attempts,
  firstFailedAt: f.firstFailedAt.toISOString(),
  lastFailedAt: f.lastFailedAt.toISOString(),
  quarantinedAt: f.quarantinedAt?.toISOString() ?? null,
  resolvedAt: f.resolvedAt?.toISOString() ?? null,
});

/**
 * Operators: messages a pull set aside after repeated failures (SYN-10), and their retry. Internal token; not
 * exposed by the ingress. (`/internal/quarantine` without `/messages` is the platform's consumer-side quarantine.)
 */
@ApiTags('internal')
@ApiBearerAuth('internal')
@ApiPlatformErrors({ 401: '`unauthorized`: the internal service credential is missing or wrong' })
@UseGuards(InternalAuthGuard)
@Controller('internal/quarantine/messages')
export class InternalQuarantineController {
  constructor(
    private readonly failures: MessageFailuresRepository,
    private readonly retry: RetryQuarantinedMessageUseCase,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Quarantined messages of mailbox pulls, newest first' })
  @ApiQuery({ name: 'mailboxId', required: false })
  @ApiQuery({
    name: 'includeResolved',
    required: false,
    description: 'true: also those retried successfully',
  })
  @ApiQuery({ name: 'limit', required: false, description: '1..500, default 100' })
  @ApiOkResponse({
    description: '{ items: [...] }',
    schema: jsonObject({ items: { type: 'array', items: jsonObject() } }, ['items']),
  })
  @ApiPlatformErrors({ 400: '`invalid_mailbox_id`, `invalid_limit`' })
  async list(
    @Query('mailboxId') mailboxId?: string,
    @Query('includeResolved') includeResolved?: string,
    @Query('limit') limit?: string,
  ) {
    if (mailboxId !== undefined && !UUID.test(mailboxId))
      throw new AppError('validation', 'invalid_mailbox_id', 'mailboxId must be a UUID');
    const n = limit === undefined ? 100 : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 500)
      throw new AppError('validation', 'invalid_limit', 'limit must be an integer from 1 to 500');
    const items = await this.failures.listQuarantined({
      mailboxId,
      includeResolved: includeResolved === 'true',
      limit: n,
    });
    return { items: items.map(view) };
  }

  @Post(':id/retry')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Fetch and record a quarantined message again',
    description:
      'outcome: observed (recorded now, once), already_observed, gone (no longer in the mailbox), failed (still ' +
      'failing: one more attempt counted, it stays quarantined).',
  })
  @ApiOkResponse({
    description: '{ outcome, quarantine }',
    schema: jsonObject(
      {
        outcome: { type: 'string', enum: ['observed', 'already_observed', 'gone', 'failed'] },
        quarantine: jsonObject(),
      },
      ['outcome', 'quarantine'],
    ),
  })
  @ApiPlatformErrors({ 400: '`invalid_id`', 404: 'no quarantined message with this id' })
  async retryOne(@Param('id') id: string) {
    if (!UUID.test(id)) throw new AppError('validation', 'invalid_id', 'id must be a UUID');
    const { outcome, quarantine } = await this.retry.execute(id);
    return { outcome, quarantine: view(quarantine) };
  }
}
