import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from '@mailbridge/platform-observability';
import type { ObjectStore } from '@mailbridge/platform-object-store';
import { LOGGER } from '@mailbridge/platform-runtime';
import { OBJECT_STORE } from '../common/tokens';
import { MAIL_GATEWAY_CONFIG, pickupDirOf, type MailGatewayConfig } from '../mail-gateway.config';
import { composeOutgoing, envelopeRecipients } from './outgoing-mime';
import { NotSentError, type SendCommand, type SendRouteDriver } from './send-command';
import type { SentOutcome } from './send-log.repository';

/** Thrown when an SMTP relay refused the message for good (5xx). */
export class RelayRejectedError extends Error {
  readonly code = 'provider_rejected';
}

/** The SMTP dialogue never reached the end of DATA: nothing can have been delivered. */
const BEFORE_DATA = /^(CONN|EHLO|HELO|LHLO|STARTTLS|AUTH|MAIL|RCPT)/i;

interface SmtpError {
  code?: string;
  command?: string;
  responseCode?: number;
  message?: string;
}

/**
 * The location provider (SND-1..3: bulk, workflow, and users without an active connection): an SMTP relay per
 * location (nodemailer), or, when none is configured (the embedded default), a pickup directory where each email is
 * written as `<sendId>.eml` — a real, inspectable transport, announced in the logs at start.
 */
@Injectable()
export class LocationProviderDriver
  implements SendRouteDriver, OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly transports = new Map<string, Transporter>();
  private readonly pickupDir: string;

  constructor(
    @Inject(MAIL_GATEWAY_CONFIG) private readonly config: MailGatewayConfig,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.pickupDir = pickupDirOf(config);
  }

  onApplicationBootstrap(): void {
    if (this.config.LOCATION_PROVIDER_SMTP_URL) {
      this.logger.info('location provider: SMTP relay (LOCATION_PROVIDER_SMTP_URL)');
    } else {
      this.logger.info(
        { pickupDir: this.pickupDir },
        'location provider: no SMTP relay configured (LOCATION_PROVIDER_SMTP_URL); bulk and workflow mail is written as .eml files to the pickup directory',
      );
    }
  }

  onApplicationShutdown(): void {
    for (const t of this.transports.values()) t.close();
  }

  private smtpUrl(locationId: string): string | undefined {
    return (
      this.config.LOCATION_PROVIDER_SMTP_OVERRIDES?.[locationId] ?? this.config.LOCATION_PROVIDER_SMTP_URL
    );
  }

  private pickupFile(command: SendCommand): string {
    return path.join(this.pickupDir, `${command.sendId}.eml`);
  }

  /** SMTP gives no way to look a message up afterwards; the pickup directory does. */
  async findSent(command: SendCommand): Promise<SentOutcome | undefined | 'unknown'> {
    if (this.smtpUrl(command.locationId)) return 'unknown';
    try {
      await fs.access(this.pickupFile(command));
      return { providerMessageId: null, providerThreadId: null, providerRfcMessageId: command.rfcMessageId };
    } catch {
      return undefined;
    }
  }

  async send(command: SendCommand): Promise<SentOutcome> {
    const from = command.from ?? { address: this.config.LOCATION_PROVIDER_DEFAULT_FROM };
    let raw;
    try {
      raw = await composeOutgoing(command, from, (key) => this.store.get(key), { keepBcc: false });
    } catch (error) {
      throw new NotSentError(error);
    }
    const url = this.smtpUrl(command.locationId);
    const outcome = {
      providerMessageId: null,
      providerThreadId: null,
      providerRfcMessageId: command.rfcMessageId,
    };
    if (!url) {
      await fs.mkdir(this.pickupDir, { recursive: true });
      const file = this.pickupFile(command);
      const tmp = `${file}.${process.pid}.tmp`;
      await pipeline(raw, createWriteStream(tmp));
      // Visible under its final name only when complete.
      await fs.rename(tmp, file);
      return outcome;
    }
    let transport = this.transports.get(url);
    if (!transport) {
      transport = nodemailer.createTransport(url);
      this.transports.set(url, transport);
    }
    try {
      await transport.sendMail({ envelope: { from: from.address, to: envelopeRecipients(command) }, raw });
    } catch (error) {
      const e = error as SmtpError;
      if (e.responseCode !== undefined && e.responseCode >= 500)
        throw new RelayRejectedError(e.message ?? 'rejected');
      if ((e.responseCode !== undefined && e.responseCode >= 400) || BEFORE_DATA.test(e.command ?? '')) {
        throw new NotSentError(error);
      }
      throw error;
    }
    return outcome;
  }
}
