import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpException,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiGoneResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { AppError, InternalAuthGuard } from '@mailbridge/platform-runtime';
import { ErrorDto } from '../common/error.dto';
import { AccessTokenService, ConnectionEndedError } from './access-token.service';
import { ConnectionQueriesService } from './connection-queries.service';
import { SendAsService } from './send-as.service';
import {
  AccessTokenDto,
  AccessTokenRequestDto,
  InternalConnectionDto,
  InternalConnectionListDto,
  SendAsDto,
  toSendAsDto,
} from './dto/connection.dto';
import { toSnapshot } from './connection-snapshot';

const uuid = new ParseUUIDPipe({
  exceptionFactory: () => new AppError('not_found', 'connection_not_found', 'Unknown connection'),
});

/** Service-to-service routes (mail-gateway); not exposed by the ingress. */
@ApiTags('internal')
@ApiBearerAuth('internal')
@ApiUnauthorizedResponse({ type: ErrorDto, description: 'Missing or wrong service credential' })
@UseGuards(InternalAuthGuard)
@Controller('internal/connections')
export class InternalConnectionsController {
  constructor(
    private readonly tokens: AccessTokenService,
    private readonly queries: ConnectionQueriesService,
    private readonly sendAs: SendAsService,
  ) {}

  @Get(':connectionId/send-as')
  @ApiOperation({
    summary:
      'SND-7: the addresses this connection may send as and its signature setting (conversations checks a From ' +
      'before accepting a send; mail-gateway again before the provider call)',
  })
  @ApiOkResponse({ type: SendAsDto })
  @ApiNotFoundResponse({ type: ErrorDto, description: 'connection_not_found' })
  @ApiServiceUnavailableResponse({ type: ErrorDto, description: 'send_as_unavailable' })
  async sendAsProfile(@Param('connectionId', uuid) connectionId: string): Promise<SendAsDto> {
    const connection = await this.queries.byId(connectionId);
    return toSendAsDto(await this.sendAs.profile(connection));
  }

  @Post(':connectionId/access-token')
  @HttpCode(200)
  @ApiOperation({
    summary: 'A fresh access token (refreshed when < 5 minutes remain; one refresh per connection at a time)',
  })
  @ApiOkResponse({ type: AccessTokenDto })
  @ApiNotFoundResponse({ type: ErrorDto, description: 'connection_not_found' })
  @ApiConflictResponse({ type: ErrorDto, description: 'reauth_required: the grant is dead (CON-5)' })
  @ApiGoneResponse({ type: ErrorDto, description: 'connection_ended: disconnected or replaced' })
  @ApiServiceUnavailableResponse({ type: ErrorDto, description: 'provider_unavailable' })
  async accessToken(
    @Param('connectionId', uuid) connectionId: string,
    @Body() body: AccessTokenRequestDto,
  ): Promise<AccessTokenDto> {
    try {
      return await this.tokens.accessToken(connectionId, body?.forceRefresh === true);
    } catch (error) {
      if (error instanceof ConnectionEndedError) {
        throw new HttpException({ error: { code: error.code, message: error.message } }, 410);
      }
      throw error;
    }
  }

  @Get()
  @ApiOperation({
    summary:
      'Every connection of one mailbox (all locations), or of one user in one location (sync-engine routing), with status',
  })
  @ApiQuery({ name: 'mailboxKey', required: false, example: 'google:sam@acme.example' })
  @ApiQuery({ name: 'locationId', required: false, example: 'loc_acme' })
  @ApiQuery({ name: 'userId', required: false, example: 'usr_sam' })
  @ApiOkResponse({ type: InternalConnectionListDto })
  @ApiBadRequestResponse({
    type: ErrorDto,
    description:
      'mailbox_key_required / user_required: give mailboxKey, or locationId and userId; invalid_request: both forms',
  })
  async list(
    @Query('mailboxKey') mailboxKey?: string,
    @Query('locationId') locationId?: string,
    @Query('userId') userId?: string,
  ): Promise<InternalConnectionListDto> {
    const rows = await this.queries.list({ mailboxKey, locationId, userId });
    return {
      items: rows.map((c): InternalConnectionDto => ({
        ...toSnapshot(c),
        endedAt: c.endedAt?.toISOString() ?? null,
      })),
    };
  }
}
