import { Module } from '@nestjs/common';

/** Mailboxes, provider webhooks, pulls and sends (issue: mail-gateway). */
@Module({})
export class MailGatewayModule {}
