import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ApiPlatformErrors, AppError, InternalAuthGuard, jsonObject } from '@mailbridge/platform-runtime';
import { ContactProjectionRepository } from './contact-projection.repository';

/** Read-only inspection of the projection, for operators and other services' tests; not exposed by the ingress. */
@ApiTags('internal')
@ApiBearerAuth('internal')
@ApiPlatformErrors({ 401: '`unauthorized`: the internal service credential is missing or wrong' })
@UseGuards(InternalAuthGuard)
@Controller('internal/contacts')
export class InternalContactsController {
  constructor(private readonly projection: ContactProjectionRepository) {}

  @Get()
  @ApiOperation({ summary: 'Contacts as sync-engine sees them (first-created first)' })
  @ApiQuery({ name: 'locationId', required: true })
  @ApiQuery({ name: 'email', required: false })
  @ApiOkResponse({
    description: '{ items: [...] }',
    schema: jsonObject(
      {
        items: {
          type: 'array',
          items: jsonObject(
            {
              locationId: { type: 'string' },
              contactId: { type: 'string' },
              email: { type: 'string' },
              assignedUserId: { type: 'string', nullable: true },
              createdAt: { type: 'string', format: 'date-time' },
              revision: { type: 'integer' },
            },
            ['locationId', 'contactId', 'email', 'createdAt', 'revision'],
          ),
        },
      },
      ['items'],
    ),
  })
  @ApiPlatformErrors({ 400: '`location_required`' })
  async find(@Query('locationId') locationId?: string, @Query('email') email?: string) {
    if (!locationId)
      throw new AppError('validation', 'location_required', 'locationId query parameter is required');
    const rows = email
      ? await this.projection.findByEmail(locationId, email.trim().toLowerCase())
      : await this.projection.list(locationId, 100);
    return {
      items: rows.map((r) => ({
        locationId: r.locationId,
        contactId: r.contactId,
        email: r.emailNormalized,
        assignedUserId: r.assignedUserId,
        createdAt: r.createdAt.toISOString(),
        revision: r.revision,
      })),
    };
  }
}
