import { Body, Controller, Get, Param, Put, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { CrmAuthGuard } from '@mailbridge/platform-runtime';
import { ErrorDto } from '../common/error.dto';
import type { ConnectionSyncExclusions } from './connection-sync-exclusions.repository';
import { ConnectionSyncExclusionsService } from './connection-sync-exclusions.service';
import { ConnectionSyncExclusionsDto, PutConnectionSyncExclusionsDto } from './dto/sync-exclusions.dto';

const toDto = (l: ConnectionSyncExclusions): ConnectionSyncExclusionsDto => ({
  addresses: l.addresses,
  domains: l.domains,
  revision: l.revision,
  updatedAt: l.updatedAt?.toISOString() ?? null,
});

/** SYN-8: the current connection's own exclusion list (the location's list is conversations'). */
@ApiTags('email-connection')
@ApiBearerAuth('crm')
@ApiUnauthorizedResponse({ type: ErrorDto, description: 'Missing or invalid bearer token' })
@ApiForbiddenResponse({ type: ErrorDto, description: 'The token is for another location or user' })
@UseGuards(CrmAuthGuard)
@Controller('v1/locations/:locationId/users/:userId/email-connection/sync-exclusions')
export class ConnectionSyncExclusionsController {
  constructor(private readonly exclusions: ConnectionSyncExclusionsService) {}

  @Get()
  @ApiOperation({ summary: "The connection's exclusion list (SYN-8)" })
  @ApiOkResponse({ type: ConnectionSyncExclusionsDto })
  @ApiNotFoundResponse({ type: ErrorDto, description: '`connection_not_found`: no live connection' })
  async get(
    @Param('locationId') locationId: string,
    @Param('userId') userId: string,
  ): Promise<ConnectionSyncExclusionsDto> {
    return toDto(await this.exclusions.get(locationId, userId));
  }

  @Put()
  @ApiOperation({
    summary: "Replace the connection's exclusion list (SYN-8)",
    description:
      'Mail with one of these addresses or domains, received from now on, is never synced nor stored; mail already synced stays.',
  })
  @ApiOkResponse({ type: ConnectionSyncExclusionsDto })
  @ApiBadRequestResponse({
    type: ErrorDto,
    description: '`invalid_request`: not an address or a domain, more than 1000 addresses or 500 domains',
  })
  @ApiNotFoundResponse({ type: ErrorDto, description: '`connection_not_found`: no live connection' })
  async put(
    @Param('locationId') locationId: string,
    @Param('userId') userId: string,
    @Body() body: PutConnectionSyncExclusionsDto,
  ): Promise<ConnectionSyncExclusionsDto> {
    return toDto(await this.exclusions.put(locationId, userId, body));
  }
}
