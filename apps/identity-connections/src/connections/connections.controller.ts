import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { AppError, CrmAuthGuard } from '@mailbridge/platform-runtime';
import { ErrorDto } from '../common/error.dto';
import { ConnectionLifecycleService } from './connection-lifecycle.service';
import { ConnectionQueriesService } from './connection-queries.service';
import { ConnectionAuditService } from './connection-audit.service';
import { SendAsService } from './send-as.service';
import {
  AuditReportDto,
  ConnectionStatusDto,
  DisconnectDto,
  SendAsDto,
  UpdateConnectionDto,
  toAuditReportDto,
  toSendAsDto,
  toStatusDto,
} from './dto/connection.dto';

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
    private readonly audits: ConnectionAuditService,
    private readonly sendAsService: SendAsService,
  ) {}

  @Get('audit')
  @ApiOperation({
    summary: "The latest completeness audit of the connection's mailbox (SYN-10)",
    description:
      "Every provider message of the mailbox in the window (after the connection's start point) compared with " +
      'the outcome Mailbridge recorded for it; messages without one are re-driven through the pipeline.',
  })
  @ApiOkResponse({ type: AuditReportDto })
  @ApiNotFoundResponse({
    type: ErrorDto,
    description: 'No connection, or no audit ran yet (audit_not_found)',
  })
  async audit(
    @Param('locationId') locationId: string,
    @Param('userId') userId: string,
  ): Promise<AuditReportDto> {
    const connection = await this.queries.status(locationId, userId);
    if (!connection.auditReport) {
      throw new AppError('not_found', 'audit_not_found', 'No audit of this mailbox ran yet');
    }
    return toAuditReportDto(connection.auditReport);
  }

  @Post('audit')
  @HttpCode(200)
  @ApiOperation({
    summary: "Audit the connection's mailbox now and answer the report (SYN-10)",
    description:
      'status healing: messages without an outcome were found and re-driven; a later audit (scheduled, or another ' +
      'POST) counts them as healed once their outcomes are recorded.',
  })
  @ApiOkResponse({ type: AuditReportDto })
  @ApiNotFoundResponse({ type: ErrorDto, description: 'No live connection' })
  @ApiServiceUnavailableResponse({ type: ErrorDto, description: 'mail-gateway could not run the audit now' })
  async auditNow(
    @Param('locationId') locationId: string,
    @Param('userId') userId: string,
  ): Promise<AuditReportDto> {
    const connection = await this.queries.status(locationId, userId);
    if (connection.status !== 'active') {
      throw new AppError('not_found', 'connection_not_active', 'Only an active connection can be audited');
    }
    return toAuditReportDto(await this.audits.runAndKeep(connection));
  }

  @Get('send-as')
  @ApiOperation({
    summary: 'Verified send-as addresses of the mailbox and the signature setting (SND-7)',
    description:
      'Read from the provider now (Gmail users.settings.sendAs.list: the primary and accepted aliases, with their ' +
      'signatures; Microsoft: the SMTP proxy addresses). An individual send may use any of them as from.',
  })
  @ApiOkResponse({ type: SendAsDto })
  @ApiNotFoundResponse({ type: ErrorDto, description: 'No live connection' })
  @ApiServiceUnavailableResponse({
    type: ErrorDto,
    description: 'send_as_unavailable: the provider could not be asked',
  })
  async sendAs(@Param('locationId') locationId: string, @Param('userId') userId: string): Promise<SendAsDto> {
    const connection = await this.queries.status(locationId, userId);
    if (connection.status !== 'active' && connection.status !== 'reauth_required') {
      throw new AppError('not_found', 'connection_not_found', 'There is no live email connection');
    }
    return toSendAsDto(await this.sendAsService.profile(connection, true));
  }

  @Get()
  @ApiOperation({
    summary: 'Connection status (CON-2) with its warning before a break (CON-7)',
    description:
      '`warning`/`expiresAt` when a break is predictable (a refresh token with a known end, failing watch renewals, ' +
      'a missing scope); status `admin_consent_required` with `adminConsentUrl` when a Microsoft tenant refused ' +
      'the connect because only its administrator may consent.',
  })
  @ApiOkResponse({ type: ConnectionStatusDto })
  @ApiNotFoundResponse({ type: ErrorDto, description: 'The user never connected a mailbox here' })
  async status(
    @Param('locationId') locationId: string,
    @Param('userId') userId: string,
  ): Promise<ConnectionStatusDto> {
    return this.queries.statusView(locationId, userId);
  }

  @Patch()
  @ApiOperation({
    summary:
      'Change settings of the current connection: its sync scope (SYN-3), the signature setting and signature (SND-7)',
  })
  @ApiOkResponse({ type: ConnectionStatusDto })
  @ApiBadRequestResponse({ type: ErrorDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  async update(
    @Param('locationId') locationId: string,
    @Param('userId') userId: string,
    @Body() body: UpdateConnectionDto,
  ): Promise<ConnectionStatusDto> {
    return toStatusDto(
      await this.lifecycle.changeSettings(locationId, userId, {
        syncScope: body.syncScope,
        appendSignature: body.appendSignature,
        signature: body.signature,
      }),
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
