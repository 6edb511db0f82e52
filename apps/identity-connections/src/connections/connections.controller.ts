import { Body, Controller, Delete, Get, HttpCode, Param, Patch, UseGuards } from '@nestjs/common';
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
import { AppError, CrmAuthGuard } from '@mailbridge/platform-runtime';
import { ErrorDto } from '../common/error.dto';
import { ConnectionLifecycleService } from './connection-lifecycle.service';
import { ConnectionQueriesService } from './connection-queries.service';
import { ConnectionStatusDto, DisconnectDto, UpdateConnectionDto, toStatusDto } from './dto/connection.dto';

@ApiTags('email-connection')
@ApiBearerAuth('crm')
@ApiUnauthorizedResponse({ type: ErrorDto, description: 'Missing or invalid bearer token' })
@ApiForbiddenResponse({ type: ErrorDto, description: 'The token is for another location or user' })
@UseGuards(CrmAuthGuard)
@Controller('v1/locations/:locationId/users/:userId/email-connection')
export class ConnectionsController {
  constructor(
    private readonly queries: ConnectionQueriesService,
    private readonly lifecycle: ConnectionLifecycleService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Connection status (CON-2)' })
  @ApiOkResponse({ type: ConnectionStatusDto })
  @ApiNotFoundResponse({ type: ErrorDto, description: 'The user never connected a mailbox here' })
  async status(
    @Param('locationId') locationId: string,
    @Param('userId') userId: string,
  ): Promise<ConnectionStatusDto> {
    return toStatusDto(await this.queries.status(locationId, userId));
  }

  @Patch()
  @ApiOperation({ summary: 'Change settings of the current connection, e.g. its sync scope (SYN-3)' })
  @ApiOkResponse({ type: ConnectionStatusDto })
  @ApiBadRequestResponse({ type: ErrorDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  async update(
    @Param('locationId') locationId: string,
    @Param('userId') userId: string,
    @Body() body: UpdateConnectionDto,
  ): Promise<ConnectionStatusDto> {
    return toStatusDto(
      await this.lifecycle.changeSettings(locationId, userId, { syncScope: body.syncScope }),
    );
  }

  @Delete()
  @HttpCode(200)
  @ApiOperation({ summary: 'Disconnect (CON-4): permanent; revokes the grant at the provider' })
  @ApiOkResponse({ type: ConnectionStatusDto, description: 'The ended connection' })
  @ApiBadRequestResponse({
    type: ErrorDto,
    description: 'confirmation_required: body { "confirm": true } is missing',
  })
  @ApiNotFoundResponse({ type: ErrorDto })
  async disconnect(
    @Param('locationId') locationId: string,
    @Param('userId') userId: string,
    @Body() body: DisconnectDto,
  ): Promise<ConnectionStatusDto> {
    if (body?.confirm !== true) {
      throw new AppError(
        'validation',
        'confirmation_required',
        'Disconnecting is permanent: send { "confirm": true }',
      );
    }
    return toStatusDto(await this.lifecycle.disconnect(locationId, userId));
  }
}
