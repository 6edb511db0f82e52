import { Body, Controller, Headers, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Principal, type CrmPrincipal } from '@mailbridge/platform-runtime';
import { ApiErrors, CrmController } from '../common/crm-route.decorator';
import { crmIdParam } from '../common/params';
import { SendEmailAcceptedDto, SendEmailDto } from './dto/send-email.dto';
import { SendEmailUseCase } from './send-email.use-case';

export const SEND_EMAIL_ROUTE = 'v1/locations/:locationId/contacts/:contactId/emails';

@ApiTags('sending')
@CrmController()
@Controller(SEND_EMAIL_ROUTE)
export class SendingController {
  constructor(private readonly sendEmail: SendEmailUseCase) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({
    summary: 'Send an email to the contact (SND)',
    description:
      "Stored as a pending message of the contact's conversation and requested; its status moves to `sent` or " +
      '`failed` as delivery reports come back. Retrying with the same Idempotency-Key never sends twice (SND-6). ' +
      'Attachments are checked by content and size first (ATT-1, ATT-2), the sending cap too (SND-4): a refusal ' +
      'is a 422 and nothing is stored or sent.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: true,
    description:
      'Chosen by the caller, 1-255 visible ASCII characters; the same key + the same body = the same result',
    example: 'crm-req-881',
  })
  @ApiAcceptedResponse({
    type: SendEmailAcceptedDto,
    description: 'Accepted (or the earlier answer to this key)',
  })
  @ApiErrors({
    400: '`idempotency_key_required`, `invalid_idempotency_key`, `invalid_request`, `invalid_json`, `too_many_recipients`, `invalid_attachment`',
    404: '`contact_not_found`, `upload_not_found`, `reply_to_message_not_found`',
    409: '`idempotency_key_reused`: the key was used for a different request',
    413: '`payload_too_large`: over SEND_BODY_LIMIT_BYTES; upload big files first',
    422: '`attachment_too_large` (ATT-1), `attachment_type_unsupported` (ATT-2), `sending_cap_reached` (SND-4, with the cap and `nextSlotAt`), `from_not_verified` (SND-7, with `from` and the `allowed` addresses)',
    503: '`send_as_unavailable`: a `from` other than the connected address could not be checked now (SND-7); nothing queued',
  })
  async send(
    @Param('locationId') locationId: string,
    @Param('contactId', crmIdParam('contactId')) contactId: string,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Principal() principal: CrmPrincipal,
    @Body() body: SendEmailDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<SendEmailAcceptedDto> {
    const result = await this.sendEmail.execute({
      locationId,
      actingUserId: principal.userId,
      contactId,
      idempotencyKey,
      request: body,
    });
    if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return result.accepted;
  }
}
