import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { AppError, InternalAuthGuard } from '@mailbridge/platform-runtime';
import { ContactProjectionRepository } from './contact-projection.repository';

/** Read-only inspection of the projection, for operators and other services' tests; not exposed by the ingress. */
@ApiTags('internal')
@ApiBearerAuth('internal')
@UseGuards(InternalAuthGuard)
@Controller('internal/contacts')
export class InternalContactsController {
  constructor(private readonly projection: ContactProjectionRepository) {}

  @Get()
  @ApiOperation({ summary: 'Contacts as sync-engine sees them (first-created first)' })
  @ApiQuery({ name: 'locationId', required: true })
  @ApiQuery({ name: 'email', required: false })
  @ApiOkResponse({ description: '{ items: [...] }' })
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
