import net from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** One email as the location's SMTP relay received it. */
export interface RelayedEmail {
  /** Envelope (MAIL FROM / RCPT TO), lower-cased. */
  readonly envelopeFrom: string;
  readonly envelopeTo: string[];
  readonly messageId: string | undefined;
  readonly from: string | undefined;
  readonly to: string[];
  readonly cc: string[];
  readonly subject: string;
  readonly text: string;
  readonly headers: Record<string, string>;
}

export interface SmtpReceiver {
  /** `smtp://127.0.0.1:<port>`, for LOCATION_PROVIDER_SMTP_URL. */
  readonly url: string;
  /** Everything received so far, in arrival order. */
  emails(): RelayedEmail[];
  close(): Promise<void>;
}

const addresses = (value: unknown): string[] => {
  const list = Array.isArray(value) ? value : value ? [value] : [];
  return list.flatMap((a: { value?: Array<{ address?: string }> }) =>
    (a.value ?? []).map((v) => (v.address ?? '').toLowerCase()).filter(Boolean),
  );
};

/**
 * A plain SMTP server standing in for the location's own sending service (SND-1..3: the SMTP relay mail-gateway
 * uses for bulk, workflow and connection-less email). It accepts everything and keeps it parsed in memory.
 */
export async function startSmtpReceiver(): Promise<SmtpReceiver> {
  const received: RelayedEmail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: 50 * 1024 * 1024,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          const headers: Record<string, string> = {};
          for (const line of mail.headerLines)
            headers[line.key] = line.line.slice(line.key.length + 1).trim();
          received.push({
            envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address.toLowerCase() : '',
            envelopeTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            messageId: mail.messageId,
            from: addresses(mail.from)[0],
            to: addresses(mail.to),
            cc: addresses(mail.cc),
            subject: mail.subject ?? '',
            text: mail.text ?? '',
            headers,
          });
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as net.AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    emails: () => [...received],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
