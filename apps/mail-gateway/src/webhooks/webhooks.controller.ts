import { Body, Controller, Headers, HttpCode, Post, Query, Res } from '@nestjs/common';
import { applyDecorators } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiPlatformErrors } from '@mailbridge/platform-runtime';
import type { Response } from 'express';
import { GatewayMetrics } from '../common/gateway.metrics';
import { WebhookIntakeUseCase } from './webhook-intake.use-case';

/** What both Graph routes answer: the validation echo, the hand-off, or 401. */
const GraphNotificationResponses = () =>
  applyDecorators(
    ApiOkResponse({
      description: 'The validation handshake: `validationToken` echoed',
      content: { 'text/plain': { schema: { type: 'string' } } },
    }),
    ApiAcceptedResponse({ description: 'The authentic items are handed off durably' }),
    ApiPlatformErrors({
      400: '`invalid_body` and the other checks every route makes of a JSON body',
      401: '`invalid_client_state`: no item carries the subscription clientState',
    }),
  );

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
  @ApiNoContentResponse({ description: 'Handed off durably' })
  @ApiPlatformErrors({
    400: '`invalid_body` and the other checks every route makes of a JSON body',
    401: '`invalid_push_token`: the push OIDC token is missing or not the configured one',
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
  @GraphNotificationResponses()
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
  @GraphNotificationResponses()
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
