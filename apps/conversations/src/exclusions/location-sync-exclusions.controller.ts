import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, CrmController } from '../common/crm-route.decorator';
import { PutSyncExclusionsDto, SyncExclusionsDto } from './dto/sync-exclusions.dto';
import type { LocationSyncExclusions } from './location-sync-exclusions.repository';
import { LocationSyncExclusionsService } from './location-sync-exclusions.service';

const toDto = (l: LocationSyncExclusions): SyncExclusionsDto => ({
  addresses: l.addresses,
  domains: l.domains,
  betweenLocationUsers: l.betweenLocationUsers,
  revision: l.revision,
  updatedAt: l.updatedAt?.toISOString() ?? null,
});

/** SYN-8: the location's exclusion list (the connection's own list is identity-connections'). */
@ApiTags('sync-exclusions')
@CrmController()
@Controller('v1/locations/:locationId/sync-exclusions')
export class LocationSyncExclusionsController {
  constructor(private readonly exclusions: LocationSyncExclusionsService) {}

  @Get()
  @ApiOkResponse({ type: SyncExclusionsDto, description: 'Empty lists (revision 0) until the first PUT' })
  @ApiErrors({ 400: '`invalid_request`' })
  async get(@Param('locationId') locationId: string): Promise<SyncExclusionsDto> {
    return toDto(await this.exclusions.get(locationId));
  }

  @Put()
  @ApiOkResponse({
    type: SyncExclusionsDto,
    description:
      'The list, replaced whole (addresses lower-cased, sorted, duplicates dropped). Applies to mail received from now on; mail already synced stays.',
  })
  @ApiErrors({
    400: '`invalid_request` (not an address or a domain, more than 1000 addresses or 500 domains), `invalid_json`',
  })
  async put(
    @Param('locationId') locationId: string,
    @Body() body: PutSyncExclusionsDto,
  ): Promise<SyncExclusionsDto> {
    return toDto(await this.exclusions.put(locationId, body));
  }
}
