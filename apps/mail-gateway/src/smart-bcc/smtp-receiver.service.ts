import fs from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Logger } from '@mailbridge/platform-observability';
import { LOGGER, SERVICE_HOST, type ServiceHost } from '@mailbridge/platform-runtime';
import { DEFAULT_SMTP_PORT, MAIL_GATEWAY_CONFIG, type MailGatewayConfig } from '../mail-gateway.config';
import { ReceiveSmartBccMailUseCase } from './receive-smart-bcc-mail.use-case';
import { SmartBccDirectory, SmartBccLookupUnavailableError, type SmartBccOwner } from './smart-bcc-directory';

/** An SMTP reply carried by an error, as smtp-server expects. */
function reply(responseCode: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode });
}

/**
 * The Auto-BCC receiver (BCC-1): an SMTP server that accepts mail only for smart-BCC addresses (550 for anything
 * else: it is no relay), with STARTTLS when a certificate is configured, a size limit (552), and per-IP connection and
 * message-rate limits. Every accepted message goes to {@link ReceiveSmartBccMailUseCase}; it answers 250 only once
 * the message is committed (observed or held), so a failure is a 451 the sending server retries.
 */
@Injectable()
export class SmtpReceiver implements OnApplicationBootstrap, OnApplicationShutdown {
  private server?: SMTPServer;
  private listening?: net.AddressInfo;
  private readonly connectionsPerIp = new Map<string, number>();
  private readonly messagesPerIp = new Map<string, { windowStart: number; count: number }>();
  /** Owners of the recipients accepted in each session's current transaction. */
  private readonly owners = new Map<string, Map<string, SmartBccOwner>>();

  constructor(
    private readonly directory: SmartBccDirectory,
    private readonly receive: ReceiveSmartBccMailUseCase,
    @Inject(MAIL_GATEWAY_CONFIG) private readonly config: MailGatewayConfig,
    @Inject(SERVICE_HOST) private readonly host: ServiceHost,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Where it listens (undefined when disabled or not listening). */
  address(): net.AddressInfo | undefined {
    return this.listening;
  }

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config;
    if (!c.SMTP_ENABLED) return;
    const tls =
      c.SMTP_TLS_CERT_FILE && c.SMTP_TLS_KEY_FILE
        ? { cert: fs.readFileSync(c.SMTP_TLS_CERT_FILE), key: fs.readFileSync(c.SMTP_TLS_KEY_FILE) }
        : undefined;
    if (!tls) {
      this.logger.warn(
        'Auto-BCC SMTP receiver without SMTP_TLS_CERT_FILE/SMTP_TLS_KEY_FILE: STARTTLS is not offered',
      );
    }
    this.server = new SMTPServer({
      name: c.SMTP_HOSTNAME ?? os.hostname(),
      banner: 'Mailbridge Auto-BCC',
      ...(tls ?? {}),
      hideSTARTTLS: !tls,
      size: c.SMTP_MAX_MESSAGE_BYTES,
      maxClients: c.SMTP_MAX_CLIENTS,
      authOptional: true,
      disabledCommands: ['AUTH'],
      logger: false,
      onConnect: (session, callback) => callback(this.admit(session)),
      onClose: (session) => this.release(session),
      onMailFrom: (_address, session, callback) => {
        this.owners.delete(session.id);
        callback(this.rateLimit(session));
      },
      onRcptTo: (address, session, callback) => {
        this.acceptRecipient(address.address, session).then(
          () => callback(),
          (error: Error) => callback(error),
        );
      },
      onData: (stream, session, callback) => {
        this.acceptData(stream, session).then(
          () => callback(),
          (error: Error) => callback(error),
        );
      },
    });
    this.server.on('error', (error) => this.logger.warn({ err: error }, 'Auto-BCC SMTP receiver error'));

    const port = c.SMTP_PORT ?? DEFAULT_SMTP_PORT;
    const hostname = c.SMTP_HOST ?? this.host.host ?? '127.0.0.1';
    const server = this.server;
    const raw = (server as unknown as { server: net.Server }).server;
    try {
      await new Promise<void>((resolve, reject) => {
        raw.once('error', reject);
        server.listen(port, hostname, () => {
          raw.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      this.server = undefined;
      if (c.SMTP_PORT !== undefined) throw error;
      this.logger.warn(
        { err: error, port, host: hostname },
        'Auto-BCC SMTP receiver not started: the default port is taken (set SMTP_PORT)',
      );
      return;
    }
    this.listening = raw.address() as net.AddressInfo;
    this.logger.info(
      { host: this.listening.address, port: this.listening.port, starttls: !!tls },
      'Auto-BCC SMTP receiver listening',
    );
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.listening = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private admit(session: SMTPServerSession): Error | null {
    const ip = session.remoteAddress;
    const open = this.connectionsPerIp.get(ip) ?? 0;
    if (open >= this.config.SMTP_MAX_CONNECTIONS_PER_IP) {
      // smtp-server calls onClose for refused connections too: count it so the release balances.
      this.connectionsPerIp.set(ip, open + 1);
      return reply(421, '4.7.0 Too many connections from your address, try again later');
    }
    this.connectionsPerIp.set(ip, open + 1);
    return null;
  }

  private release(session: SMTPServerSession): void {
    this.owners.delete(session.id);
    const ip = session.remoteAddress;
    const open = (this.connectionsPerIp.get(ip) ?? 1) - 1;
    if (open <= 0) this.connectionsPerIp.delete(ip);
    else this.connectionsPerIp.set(ip, open);
  }

  private rateLimit(session: SMTPServerSession): Error | null {
    const ip = session.remoteAddress;
    const now = Date.now();
    let window = this.messagesPerIp.get(ip);
    if (!window || now - window.windowStart >= 60_000) {
      if (this.messagesPerIp.size > 50_000) this.messagesPerIp.clear();
      window = { windowStart: now, count: 0 };
      this.messagesPerIp.set(ip, window);
    }
    window.count++;
    return window.count > this.config.SMTP_MAX_MESSAGES_PER_IP_PER_MINUTE
      ? reply(451, '4.7.1 Too many messages from your address, try again later')
      : null;
  }

  private async acceptRecipient(address: string, session: SMTPServerSession): Promise<void> {
    let owner: SmartBccOwner | null;
    try {
      owner = await this.directory.resolve(address);
    } catch (error) {
      if (error instanceof SmartBccLookupUnavailableError) {
        this.logger.warn({ err: error }, 'smart-BCC lookup failed');
        throw reply(451, '4.4.3 Recipient lookup temporarily unavailable, try again later');
      }
      throw error;
    }
    if (!owner) throw reply(550, '5.1.1 No such recipient here (this server accepts Auto-BCC mail only)');
    const accepted = this.owners.get(session.id) ?? new Map<string, SmartBccOwner>();
    accepted.set(owner.address, owner);
    this.owners.set(session.id, accepted);
  }

  private async acceptData(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size <= this.config.SMTP_MAX_MESSAGE_BYTES) chunks.push(chunk);
    }
    if (stream.sizeExceeded || size > this.config.SMTP_MAX_MESSAGE_BYTES) {
      throw reply(552, `5.3.4 Message too big (limit ${this.config.SMTP_MAX_MESSAGE_BYTES} bytes)`);
    }
    const recipients = [...(this.owners.get(session.id)?.values() ?? [])];
    this.owners.delete(session.id);
    if (recipients.length === 0) throw reply(554, '5.5.1 No valid recipients');
    const mailFrom = session.envelope.mailFrom;
    try {
      await this.receive.execute({
        raw: Buffer.concat(chunks),
        envelopeFrom: mailFrom ? mailFrom.address || null : null,
        recipients,
        receivedAt: new Date(),
      });
    } catch (error) {
      this.logger.error({ err: error }, 'smart-BCC message could not be recorded');
      throw reply(451, '4.3.0 Could not record the message, try again later');
    }
  }
}
