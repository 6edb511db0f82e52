import { Body, Controller, Headers, HttpCode, Post, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { GatewayMetrics } from '../common/gateway.metrics';
import { WebhookIntakeUseCase } from './webhook-intake.use-case';

/** Graph sends an opaque token; bound what we echo. */
const MAX_VALIDATION_TOKEN_LENGTH = 4096;

/** Provider notifications (called by Google Pub/Sub and Microsoft Graph, not by the CRM). */
@ApiTags('webhooks')
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(
    private readonly intake: WebhookIntakeUseCase,
    private readonly metrics: GatewayMetrics,
  ) {}

  @Post('gmail')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Gmail change notification (Pub/Sub push)',
    description:
      'Verifies the push OIDC token (signature, issuer, audience, service account) before anything else; 401 otherwise. ' +
      'Answers 204 once the notification is durably handed off; the mailbox is pulled afterwards.',
  })
  async gmail(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
  ): Promise<void> {
    const timer = this.metrics.webhookAckSeconds.startTimer({ provider: 'google' });
    try {
      await this.intake.gmailPush(authorization, body);
    } finally {
      timer();
    }
  }

  @Post('microsoft')
  @ApiOperation({
    summary: 'Microsoft Graph change notifications',
    description:
      'Answers the validation handshake (`?validationToken=`) with the token as text/plain. Otherwise checks every ' +
      "item's clientState in constant time: 202 once the authentic items are durably handed off, 401 when none is.",
  })
  async microsoft(
    @Query('validationToken') validationToken: string | undefined,
    @Body() body: unknown,
    @Res() res: Response,
  ): Promise<void> {
    await this.handleGraph(validationToken, body, res);
  }

  @Post('microsoft/lifecycle')
  @ApiOperation({
    summary: 'Microsoft Graph lifecycle notifications',
    description: 'reauthorizationRequired → renew, subscriptionRemoved → recreate, missed → delta catch-up.',
  })
  async microsoftLifecycle(
    @Query('validationToken') validationToken: string | undefined,
    @Body() body: unknown,
    @Res() res: Response,
  ): Promise<void> {
    await this.handleGraph(validationToken, body, res);
  }

  private async handleGraph(
    validationToken: string | undefined,
    body: unknown,
    res: Response,
  ): Promise<void> {
    if (typeof validationToken === 'string') {
      this.metrics.webhookRequests.inc({ provider: 'microsoft', outcome: 'validation' });
      // Express has already URL-decoded it; it goes back as opaque plain text.
      res.status(200).type('text/plain').send(validationToken.slice(0, MAX_VALIDATION_TOKEN_LENGTH));
      return;
    }
    const timer = this.metrics.webhookAckSeconds.startTimer({ provider: 'microsoft' });
    try {
      await this.intake.graphNotifications(body);
      res.status(202).end();
    } finally {
      timer();
    }
  }
}
