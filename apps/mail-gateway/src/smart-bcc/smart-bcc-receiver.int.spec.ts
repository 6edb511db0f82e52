import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import { generate } from 'selfsigned';
import {
  Topics,
  eventCatalog,
  messageObservedV1,
  smartBccRefusedV1,
  type EventEnvelope,
  type PayloadOf,
} from '@mailbridge/contracts';
import { KafkaEventBus, type Subscription } from '@mailbridge/platform-messaging';
import { createLogger } from '@mailbridge/platform-observability';
import { expectEventually } from '@mailbridge/testing';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness';
import { SmtpReceiver } from './smtp-receiver.service';

const DOMAIN = 'bcc.mailbridge.test';
const SMART = `bcc-${randomBytes(8).toString('hex')}@${DOMAIN}`;
const USER_MAILBOX = 'sam@acme.example';
const OWNER = {
  locationId: 'loc_bcc',
  userId: 'usr_sam',
  connectionId: randomUUID(),
  emailAddress: USER_MAILBOX,
  // The user's connected provider labels the smart-BCC copy (its attachment limits apply).
  provider: 'microsoft',
};
const MAX_BYTES = 200_000;

/** identity-connections' internal smart-BCC route, played by the test. */
class SmartBccRouteStub {
  readonly owners = new Map<string, typeof OWNER>([[SMART, OWNER]]);
  readonly lookups: string[] = [];
  token = '';
  url = '';
  private readonly server = http.createServer((req, res) => {
    const match = /^\/internal\/smart-bcc\/([^/]+)$/.exec(req.url ?? '');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return send(401, { error: { code: 'unauthorized' } });
    if (req.method !== 'GET' || !match) return send(404, { error: { code: 'not_found' } });
    const address = decodeURIComponent(match[1]);
    this.lookups.push(address);
    const owner = this.owners.get(address.toLowerCase());
    return owner ? send(200, owner) : send(404, { error: { code: 'smart_bcc_not_found' } });
  });

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('mail-gateway Auto-BCC SMTP receiver (BCC-1)', () => {
  let h: GatewayHarness;
  let identity: SmartBccRouteStub;
  let tlsDir: string;
  let caPem: string;
  let syncBus: KafkaEventBus;
  let syncSubscription: Subscription;
  const syncEvents: EventEnvelope[] = [];

  const skipped = (where: (p: PayloadOf<typeof smartBccRefusedV1>) => boolean) =>
    syncEvents
      .filter((e) => eventCatalog.is(e, smartBccRefusedV1))
      .map((e) => e.payload as PayloadOf<typeof smartBccRefusedV1>)
      .filter(where);

  const transport = () => {
    const address = h.gateway.app.get(SmtpReceiver).address();
    if (!address) throw new Error('the receiver is not listening');
    return nodemailer.createTransport({
      host: '127.0.0.1',
      port: address.port,
      secure: false,
      requireTLS: true,
      tls: { ca: caPem },
      name: 'mail-relay.acme.example',
    });
  };

  /** Sends over real SMTP; resolves with the server's answer, or rejects with its response code. */
  const send = async (mail: Mail.Options) => {
    const t = transport();
    try {
      return await t.sendMail(mail);
    } finally {
      t.close();
    }
  };

  const observed = (rfcMessageId: string) =>
    h.log.of(messageObservedV1, (p) => p.source === 'smart_bcc' && p.message.rfcMessageId === rfcMessageId);

  const messageId = () => `<${randomUUID()}@acme.example>`;

  beforeAll(async () => {
    const cert = await generate([{ name: 'commonName', value: 'localhost' }], {
      algorithm: 'sha256',
      extensions: [
        {
          name: 'subjectAltName',
          altNames: [
            { type: 7, ip: '127.0.0.1' },
            { type: 2, value: 'localhost' },
          ],
        },
      ],
    });
    caPem = cert.cert;
    tlsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mb-smtp-tls-'));
    await fs.writeFile(path.join(tlsDir, 'cert.pem'), cert.cert);
    await fs.writeFile(path.join(tlsDir, 'key.pem'), cert.private);
    identity = new SmartBccRouteStub();
    await identity.start();
    h = await startGatewayHarness({
      env: {
        IDENTITY_CONNECTIONS_URL: identity.url,
        SMTP_HOST: '127.0.0.1',
        SMTP_PORT: '0',
        SMTP_TLS_CERT_FILE: path.join(tlsDir, 'cert.pem'),
        SMTP_TLS_KEY_FILE: path.join(tlsDir, 'key.pem'),
        SMTP_MAX_MESSAGE_BYTES: String(MAX_BYTES),
        SMART_BCC_DOMAINS: DOMAIN,
      },
    });
    identity.token = h.internalApiToken;
    syncBus = new KafkaEventBus({
      brokers: h.kafka.bootstrapServers,
      clientId: 'test-sync-observer',
      catalog: eventCatalog,
      logger: createLogger({ service: 'test-sync-observer', level: 'silent' }),
      idempotent: false,
      retry: { maxAttempts: 8, initialDelayMs: 100, maxDelayMs: 1_000 },
      topicReadyTimeoutMs: 10_000,
      consumer: {
        sessionTimeoutMs: 3_000,
        heartbeatIntervalMs: 200,
        rebalanceTimeoutMs: 3_000,
        maxWaitTimeMs: 100,
        partitionsConsumedConcurrently: 1,
        joinTimeoutMs: 30_000,
      },
    });
    syncSubscription = await syncBus.subscribe({
      groupId: 'test.sync-observer',
      topics: [Topics.mailMailboxes],
      handler: async (event) => {
        syncEvents.push(event);
      },
    });
  });

  afterAll(async () => {
    await syncSubscription?.stop().catch(() => undefined);
    await syncBus?.close().catch(() => undefined);
    await h?.close();
    await identity?.close();
    if (tlsDir) await fs.rm(tlsDir, { recursive: true, force: true });
  });

  it('BCC-1: mail to a new recipient with the smart-BCC address in Bcc is observed over STARTTLS as smart_bcc, attributed to the address’s location and user, with the Message-ID a reply will reference', async () => {
    const id = messageId();
    const info = await send({
      from: { name: 'Sam', address: USER_MAILBOX },
      to: { name: 'New Lead', address: 'new.lead@example.org' },
      bcc: SMART,
      subject: 'Our proposal',
      text: 'Hello, here is the proposal.',
      messageId: id,
      // What the user's provider does: the smart-BCC copy travels to our MX with only our recipient.
      envelope: { from: USER_MAILBOX, to: [SMART] },
    });
    expect(info.accepted).toEqual([SMART]);

    const [event] = await h.log.waitFor(
      messageObservedV1,
      (p) => p.source === 'smart_bcc' && p.message.rfcMessageId === id,
    );
    expect(event).toEqual(
      expect.objectContaining({
        source: 'smart_bcc',
        mailboxAddress: SMART,
        mailboxKey: `smart_bcc:${SMART}`,
        smartBcc: { locationId: OWNER.locationId, userId: OWNER.userId },
        direction: 'outbound',
        inSent: false,
      }),
    );
    expect(event.message).toEqual(
      expect.objectContaining({
        rfcMessageId: id,
        provider: 'microsoft',
        from: { name: 'Sam', address: USER_MAILBOX },
        to: [{ name: 'New Lead', address: 'new.lead@example.org' }],
        subject: 'Our proposal',
        text: expect.stringContaining('here is the proposal'),
        rawObjectKey: expect.stringMatching(/^sha256-/),
      }),
    );
    // No provider keeps smart-BCC mail: its raw message is stored even with STORE_RAW_MESSAGES off (the default).
    const raw = await fs.readdir(h.objectDir, { recursive: true });
    expect(raw.some((f) => f.includes(event.message.rawObjectKey!.replace(/^sha256-/, '')))).toBe(true);
  });

  it('BCC-1: the smart-BCC address in Cc (an existing contact in To) is observed with its recipients in header order', async () => {
    const id = messageId();
    await send({
      from: USER_MAILBOX,
      to: ['Known Client <client@example.org>', 'other@example.org'],
      cc: SMART,
      subject: 'Follow-up',
      text: 'As discussed.',
      messageId: id,
      envelope: { from: USER_MAILBOX, to: [SMART.toUpperCase()] },
    });
    const [event] = await h.log.waitFor(messageObservedV1, (p) => p.message.rfcMessageId === id);
    expect(event.smartBcc).toEqual({ locationId: OWNER.locationId, userId: OWNER.userId });
    expect(event.mailboxAddress).toBe(SMART);
    expect(event.message.to.map((a) => a.address)).toEqual(['client@example.org', 'other@example.org']);
    expect(event.message.cc.map((a) => a.address)).toEqual([SMART]);
  });

  it('BCC-1: any recipient that is not a smart-BCC address is refused with 550 at RCPT (no open relay)', async () => {
    const lookupsBefore = identity.lookups.length;
    await expect(
      send({
        from: USER_MAILBOX,
        to: `bcc-unknown@${DOMAIN}`,
        subject: 'x',
        text: 'x',
      }),
    ).rejects.toMatchObject({ responseCode: 550 });
    // Another domain is refused without asking identity-connections.
    await expect(
      send({ from: USER_MAILBOX, to: 'victim@example.org', subject: 'relay?', text: 'x' }),
    ).rejects.toMatchObject({ responseCode: 550 });
    expect(identity.lookups.slice(lookupsBefore)).toEqual([`bcc-unknown@${DOMAIN}`]);
  });

  it('loss path 1: a smart-BCC copy with NUL in its subject and body is observed as storable text (U+FFFD), not stuck in a failing insert', async () => {
    const id = messageId();
    await send({
      from: USER_MAILBOX,
      to: 'lead@example.org',
      bcc: SMART,
      subject: 'hello\u0000',
      text: 'hi\u0000there',
      messageId: id,
      envelope: { from: USER_MAILBOX, to: [SMART] },
    });
    const [event] = await h.log.waitFor(messageObservedV1, (p) => p.message.rfcMessageId === id);
    expect(event.message).toMatchObject({
      subject: 'hello\uFFFD',
      text: expect.stringContaining('hi\uFFFDthere'),
    });
  });

  it('BCC-1: a message over the size limit is refused with 552 and never observed', async () => {
    const id = messageId();
    await expect(
      send({
        from: USER_MAILBOX,
        to: 'lead@example.org',
        bcc: SMART,
        subject: 'Big',
        text: 'see attachment',
        messageId: id,
        attachments: [{ filename: 'big.pdf', content: randomBytes(MAX_BYTES) }],
        envelope: { from: USER_MAILBOX, to: [SMART] },
      }),
    ).rejects.toMatchObject({ responseCode: 552 });
    // Ordering marker: the outbox publishes in commit order, so once a later message is seen, the big one never was.
    const marker = messageId();
    await send({
      from: USER_MAILBOX,
      to: 'lead@example.org',
      subject: 'small',
      text: 'x',
      messageId: marker,
      envelope: { from: USER_MAILBOX, to: [SMART] },
    });
    await h.log.waitFor(messageObservedV1, (p) => p.message.rfcMessageId === marker);
    expect(observed(id)).toHaveLength(0);
  });

  it('BCC-1: a forged sender (From or MAIL FROM not the user’s connected mailbox) is held as smart-bcc.refused sender_mismatch and not observed', async () => {
    const forgedFrom = messageId();
    await send({
      from: 'ceo@evil.example',
      to: 'victim@example.org',
      subject: 'Wire the money',
      text: 'now',
      messageId: forgedFrom,
      envelope: { from: USER_MAILBOX, to: [SMART] },
    });
    const forgedEnvelope = messageId();
    await send({
      from: USER_MAILBOX,
      to: 'victim@example.org',
      subject: 'Spoofed envelope',
      text: 'now',
      messageId: forgedEnvelope,
      envelope: { from: 'bounce@evil.example', to: [SMART] },
    });
    for (const id of [forgedFrom, forgedEnvelope]) {
      const [skip] = await expectEventually(
        () => {
          const found = skipped((p) => p.rfcMessageId === id);
          expect(found).toHaveLength(1);
          return found;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      expect(skip).toEqual(
        expect.objectContaining({
          locationId: OWNER.locationId,
          userId: OWNER.userId,
          connectionId: OWNER.connectionId,
          reason: 'sender_mismatch',
          rule: 'BCC-1',
        }),
      );
    }
    expect(skipped((p) => p.rfcMessageId === forgedFrom)[0].detail).toContain('ceo@evil.example');
    expect(skipped((p) => p.rfcMessageId === forgedEnvelope)[0].detail).toContain('bounce@evil.example');
    // The observed stream is ordered; a later genuine message proves neither forged one was observed.
    const marker = messageId();
    await send({
      from: USER_MAILBOX,
      to: 'lead@example.org',
      subject: 'genuine',
      text: 'x',
      messageId: marker,
      envelope: { from: USER_MAILBOX, to: [SMART] },
    });
    await h.log.waitFor(messageObservedV1, (p) => p.message.rfcMessageId === marker);
    expect(observed(forgedFrom)).toHaveLength(0);
    expect(observed(forgedEnvelope)).toHaveLength(0);
  });

  it('BCC-1: the same message delivered twice to the smart-BCC address is observed once', async () => {
    const id = messageId();
    const mail: Mail.Options = {
      from: USER_MAILBOX,
      to: 'twice@example.org',
      bcc: SMART,
      subject: 'Delivered twice',
      text: 'A retrying sender.',
      messageId: id,
      date: new Date('2026-01-05T10:00:00Z'),
      envelope: { from: USER_MAILBOX, to: [SMART] },
    };
    const first = await send(mail);
    const second = await send(mail);
    expect(first.accepted).toEqual([SMART]);
    expect(second.accepted).toEqual([SMART]);
    const marker = messageId();
    await send({ ...mail, messageId: marker, subject: 'marker' });
    await h.log.waitFor(messageObservedV1, (p) => p.message.rfcMessageId === marker);
    expect(observed(id)).toHaveLength(1);
  });
});
