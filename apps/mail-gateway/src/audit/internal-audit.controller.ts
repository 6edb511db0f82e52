import { Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiPlatformErrors, AppError, InternalAuthGuard, jsonObject } from '@mailbridge/platform-runtime';
import { MailboxesRepository } from '../mailboxes/mailboxes.repository';
import { MailboxAuditService } from './mailbox-audit.service';
import { MessageLedgerRepository } from '../ledger/message-ledger.repository';

const AUDIT_REPORT_SCHEMA = jsonObject(
  {
    window: jsonObject({ from: { type: 'string' }, to: { type: 'string' } }, ['from', 'to']),
    checkedAt: { type: 'string' },
    providerMessages: { type: 'integer' },
    accounted: jsonObject(),
    missing: { type: 'integer' },
    healed: { type: 'integer' },
    status: { type: 'string', enum: ['complete', 'healing', 'incomplete'] },
  },
  ['window', 'checkedAt', 'status'],
);

/**
 * SYN-10: a mailbox's completeness audit, for identity-connections (the CRM's `.../email-connection/audit`) and
 * operators. Internal token; not exposed by the ingress.
 */
@ApiTags('internal')
@ApiBearerAuth('internal')
@ApiPlatformErrors({
  400: '`invalid_mailbox_key`',
  401: '`unauthorized`: the internal service credential is missing or wrong',
  404: '`mailbox_not_found`, `audit_not_found` (GET: no audit ran yet)',
})
@UseGuards(InternalAuthGuard)
@Controller('internal/mailboxes/:mailboxKey/audit')
export class InternalAuditController {
  constructor(
    private readonly mailboxes: MailboxesRepository,
    private readonly audits: MailboxAuditService,
    private readonly ledger: MessageLedgerRepository,
  ) {}

  @Get()
  @ApiOperation({ summary: "The mailbox's latest completeness audit report (404 when none ran yet)" })
  @ApiOkResponse({
    description: 'The report: window, checkedAt, providerMessages, accounted, missing, healed, status',
    schema: AUDIT_REPORT_SCHEMA,
  })
  async latest(@Param('mailboxKey') mailboxKey: string) {
    const mailbox = await this.find(mailboxKey);
    const stored = await this.ledger.latest(mailbox.id);
    if (!stored?.report)
      throw new AppError('not_found', 'audit_not_found', 'No audit of this mailbox ran yet');
    return stored.report;
  }

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Audit the mailbox now and answer its report',
    description:
      'Lists the provider ids of the window, compares them with the ledger of outcomes and re-drives the missing ' +
      'ones (status healing until their outcomes arrive; a later audit counts them as healed).',
  })
  @ApiOkResponse({ description: 'The report of this audit', schema: AUDIT_REPORT_SCHEMA })
  async runNow(@Param('mailboxKey') mailboxKey: string) {
    return this.audits.run(await this.find(mailboxKey));
  }

  private async find(mailboxKey: string) {
    if (mailboxKey.length > 400)
      throw new AppError('validation', 'invalid_mailbox_key', 'mailboxKey too long');
    const mailbox = await this.mailboxes.findByKey(mailboxKey.toLowerCase());
    if (!mailbox) throw new AppError('not_found', 'mailbox_not_found', 'No such mailbox');
    return mailbox;
  }
}
