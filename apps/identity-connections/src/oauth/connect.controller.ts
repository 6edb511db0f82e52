import { Body, Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { ProviderName } from '@mailbridge/contracts';
import { CrmAuthGuard } from '@mailbridge/platform-runtime';
import { ErrorDto } from '../common/error.dto';
import { ProviderPipe } from '../common/provider.pipe';
import { ConnectMailboxUseCase } from './connect-mailbox.use-case';
import { AuthorizeRequestDto, AuthorizeResponseDto } from './dto/authorize.dto';

@ApiTags('email-connection')
@ApiBearerAuth('crm')
@ApiUnauthorizedResponse({ type: ErrorDto, description: 'Missing or invalid bearer token' })
@ApiForbiddenResponse({ type: ErrorDto, description: 'The token is for another location or user' })
@UseGuards(CrmAuthGuard)
@Controller('v1/locations/:locationId/users/:userId/email-connection')
export class ConnectController {
  constructor(private readonly connect: ConnectMailboxUseCase) {}

  @Post(':provider/authorize')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Start connecting a mailbox (CON-1); with a connection in place this is update email (CON-3) or re-consent (CON-5)',
  })
  @ApiParam({ name: 'provider', enum: ['google', 'microsoft'] })
  @ApiOkResponse({ type: AuthorizeResponseDto })
  @ApiBadRequestResponse({
    type: ErrorDto,
    description: 'return_url_not_allowed, unknown_provider, invalid_request',
  })
  @ApiServiceUnavailableResponse({
    type: ErrorDto,
    description: 'provider_not_configured, provider_unavailable',
  })
  authorize(
    @Param('locationId') locationId: string,
    @Param('userId') userId: string,
    @Param('provider', new ProviderPipe()) provider: ProviderName,
    @Body() body: AuthorizeRequestDto,
  ): Promise<AuthorizeResponseDto> {
    return this.connect.start({ provider, locationId, userId, returnUrl: body.returnUrl });
  }
}
