import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { AppError, InternalAuthGuard } from '@mailbridge/platform-runtime';
import { ErrorDto } from '../common/error.dto';
import { SmartBccOwnerDto } from './dto/smart-bcc.dto';
import { SmartBccService } from './smart-bcc.service';

/** For mail-gateway's SMTP receiver (Auto-BCC): whose address received this mail. */
@ApiTags('internal')
@ApiBearerAuth('internal')
@ApiUnauthorizedResponse({ type: ErrorDto })
@UseGuards(InternalAuthGuard)
@Controller('internal/smart-bcc')
export class InternalSmartBccController {
  constructor(private readonly smartBcc: SmartBccService) {}

  @Get(':address')
  @ApiOperation({ summary: 'The owner of a smart-BCC address, with their active connection if any' })
  @ApiOkResponse({ type: SmartBccOwnerDto })
  @ApiNotFoundResponse({ type: ErrorDto, description: 'smart_bcc_not_found' })
  async resolve(@Param('address') address: string): Promise<SmartBccOwnerDto> {
    const owner = await this.smartBcc.resolve(address);
    if (!owner) throw new AppError('not_found', 'smart_bcc_not_found', 'No user has this smart-BCC address');
    return owner;
  }
}
