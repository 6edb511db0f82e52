import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { CrmAuthGuard } from '@mailbridge/platform-runtime';
import { ErrorDto } from '../common/error.dto';
import { SmartBccDto } from './dto/smart-bcc.dto';
import { SmartBccService } from './smart-bcc.service';

@ApiTags('smart-bcc')
@ApiBearerAuth('crm')
@ApiUnauthorizedResponse({ type: ErrorDto })
@ApiForbiddenResponse({ type: ErrorDto, description: 'The token is for another location or user' })
@UseGuards(CrmAuthGuard)
@Controller('v1/locations/:locationId/users/:userId/smart-bcc')
export class SmartBccController {
  constructor(private readonly smartBcc: SmartBccService) {}

  @Get()
  @ApiOperation({ summary: "The user's Auto-BCC address in this location (BCC-1); stable once created" })
  @ApiOkResponse({ type: SmartBccDto })
  async get(@Param('locationId') locationId: string, @Param('userId') userId: string): Promise<SmartBccDto> {
    return { address: await this.smartBcc.addressFor(locationId, userId), locationId, userId };
  }
}
