import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import {
  connectionDisconnectedV1,
  eventCatalog,
  messageObservedV1,
  sendFailedV1,
  sendRequestedV1,
  sendSucceededV1,
  type ConnectionSnapshot,
  type PayloadOf,
} from '@mailbridge/contracts';
import { LocalFolderObjectStore } from '@mailbridge/platform-object-store';
import { expectEventually } from '@mailbridge/testing';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness';

const SAM_GMAIL = 'sam@gmail.sandbox.test';
const KIM_GMAIL = 'kim@gmail.sandbox.test';
const SAM_OUTLOOK = 'sam@outlook.sandbox.test';
const CASEY = 'casey@gmail.sandbox.test';
const ROBIN = 'robin@outlook.sandbox.test';

type SendCommand = PayloadOf<typeof sendRequestedV1>;

describe('mail-gateway sends (Kafka + PostgreSQL + sandbox providers)', () => {
  let h: GatewayHarness;
  let pickupDir: string;
  let smtp: SMTPServer;
  const relayed: Array<{ from: string; to: string[]; raw: string }> = [];
  const connections: Record<string, ConnectionSnapshot> = {};

  beforeAll(async () => {
    pickupDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mb-pickup-'));
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'],
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          relayed.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString(),
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const smtpPort = (smtp.server.address() as { port: number }).port;
    h = await startGatewayHarness({
      sandbox: {
        mailboxes: [
          { provider: 'google', address: SAM_GMAIL, displayName: 'Sam' },
          { provider: 'google', address: KIM_GMAIL, displayName: 'Kim' },
          { provider: 'microsoft', address: SAM_OUTLOOK, displayName: 'Sam' },
          { provider: 'google', address: CASEY, displayName: 'Casey' },
          { provider: 'microsoft', address: ROBIN, displayName: 'Robin' },
        ],
      },
      env: {
        LOCATION_PROVIDER_SMTP_OVERRIDES: JSON.stringify({ loc_smtp: `smtp://127.0.0.1:${smtpPort}` }),
        LOCATION_PROVIDER_PICKUP_DIR: pickupDir,
      },
    });
    connections[SAM_GMAIL] = await h.connect(SAM_GMAIL, 'google');
    connections[KIM_GMAIL] = await h.connect(KIM_GMAIL, 'google');
    connections[SAM_OUTLOOK] = await h.connect(SAM_OUTLOOK, 'microsoft');
  }, 180_000);
  afterAll(async () => {
    await h?.close();
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
    await fs.rm(pickupDir, { recursive: true, force: true });
  });

  const command = (from: string, over: Partial<SendCommand> = {}): SendCommand => {
    const c = connections[from];
    return {
      sendId: randomUUID(),
      locationId: 'loc_1',
      userId: c.userId,
      contactId: 'ct_1',
      conversationId: randomUUID(),
      kind: 'individual',
      route: {
        kind: 'mailbox',
        connectionId: c.connectionId,
        provider: c.provider,
        mailboxKey: c.mailboxKey,
        fromAddress: from,
      },
      to: [{ name: 'Contact', address: from.includes('gmail') ? CASEY : ROBIN }],
      cc: [],
      bcc: [],
      subject: `Hello ${randomBytes(3).toString('hex')}`,
      text: 'Hello from the CRM',
      html: null,
      attachments: [],
      rfcMessageId: `<${randomUUID()}@crm.mailbridge.test>`,
      inReplyTo: null,
      references: [],
      replyInProviderThreadId: null,
      replyToProviderMessageId: null,
      requestedAt: new Date().toISOString(),
      ...over,
    };
  };
  const send = async (c: SendCommand) => {
    await h.publish(eventCatalog.create(sendRequestedV1, c));
  };
  const succeeded = async (c: SendCommand, count = 1) =>
    (await h.log.waitFor(sendSucceededV1, (p) => p.sendId === c.sendId, count, 30_000))[count - 1];
  const inboxWith = (address: string, messageId: string) =>
    h.sandbox.control.mailbox(address).inbox.filter((m) => m.messageId === messageId);
  const storeAttachment = async (bytes: Buffer, filename: string, contentType: string) => {
    const stored = await new LocalFolderObjectStore(h.objectDir).put(bytes, { contentType });
    return { objectKey: stored.key, filename, contentType, size: bytes.length, sha256: stored.sha256 };
  };

  it('SND-1: an individual email goes out through the Gmail mailbox, with our Message-ID, reference header and attachment', async () => {
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(2048), Buffer.from('\n%%EOF\n')]);
    const c = command(SAM_GMAIL, {
      attachments: [await storeAttachment(pdf, 'offer.pdf', 'application/pdf')],
    });
    await send(c);
    const ok = await succeeded(c);
    expect(ok).toMatchObject({
      provider: 'google',
      rfcMessageId: c.rfcMessageId,
      providerMessageId: expect.any(String),
      providerThreadId: expect.any(String),
    });
    const [received] = inboxWith(CASEY, c.rfcMessageId);
    expect(received).toBeDefined();
    expect(received.from?.address).toBe(SAM_GMAIL);
    expect(received.headers.find((x) => x.name.toLowerCase() === 'x-mailbridge-ref')?.value).toBe(c.sendId);
    expect(received.attachments).toEqual([
      expect.objectContaining({
        filename: 'offer.pdf',
        size: pdf.length,
        contentBase64: pdf.toString('base64'),
      }),
    ]);
    const sentCopy = h.sandbox.control.mailbox(SAM_GMAIL).sent.find((m) => m.id === ok.providerMessageId);
    expect(sentCopy?.messageId).toBe(c.rfcMessageId);
    // The Sent copy comes back as observed mail carrying our reference (SYN-5 recognises it).
    const [observed] = await h.log.waitFor(
      messageObservedV1,
      (p) => p.message.providerMessageId === ok.providerMessageId,
    );
    expect(observed).toMatchObject({
      direction: 'outbound',
      inSent: true,
      message: { mailbridgeRef: c.sendId },
    });
  });

  it('SND-5: a Gmail reply sent from the CRM lands in the same provider thread', async () => {
    const first = command(SAM_GMAIL);
    await send(first);
    const sent = await succeeded(first);
    const contactCopy = inboxWith(CASEY, first.rfcMessageId)[0];
    const reply = await h.sandbox.control.send(CASEY, { replyTo: contactCopy.id, text: 'Sounds good' });
    const [incoming] = await h.log.waitFor(
      messageObservedV1,
      (p) => p.mailboxKey === `google:${SAM_GMAIL}` && p.message.rfcMessageId === reply.message.messageId,
    );
    expect(incoming.message.providerThreadId).toBe(sent.providerThreadId);

    const answer = command(SAM_GMAIL, {
      subject: `Re: ${first.subject}`,
      inReplyTo: incoming.message.rfcMessageId,
      references: [first.rfcMessageId, incoming.message.rfcMessageId!],
      replyInProviderThreadId: incoming.message.providerThreadId,
    });
    await send(answer);
    const answered = await succeeded(answer);
    expect(answered.providerThreadId).toBe(sent.providerThreadId);
    const sentCopy = h.sandbox.control
      .mailbox(SAM_GMAIL)
      .sent.find((m) => m.id === answered.providerMessageId);
    expect(sentCopy?.threadId).toBe(sent.providerThreadId);
    expect(inboxWith(CASEY, answer.rfcMessageId)[0]?.threadId).toBe(contactCopy.threadId);
  });

  it('SND-1 + SND-5 on Microsoft Graph: draft + send, a 3.5 MB attachment by upload session, and a reply in the same conversation', async () => {
    const big = Buffer.concat([
      Buffer.from('%PDF-1.4\n'),
      randomBytes(3.5 * 1024 * 1024),
      Buffer.from('\n%%EOF\n'),
    ]);
    const first = command(SAM_OUTLOOK, {
      attachments: [await storeAttachment(big, 'big.pdf', 'application/pdf')],
    });
    await send(first);
    const sent = await succeeded(first);
    expect(sent).toMatchObject({ provider: 'microsoft', providerThreadId: expect.any(String) });
    const [atRobin] = h.sandbox.control.mailbox(ROBIN).inbox.filter((m) => m.messageId === sent.rfcMessageId);
    expect(atRobin.subject).toBe(first.subject);
    expect(atRobin.headers.find((x) => x.name.toLowerCase() === 'x-mailbridge-ref')?.value).toBe(
      first.sendId,
    );
    expect(atRobin.attachments).toEqual([expect.objectContaining({ filename: 'big.pdf', size: big.length })]);

    const reply = await h.sandbox.control.send(ROBIN, { replyTo: atRobin.id, text: 'Got it' });
    const [incoming] = await h.log.waitFor(
      messageObservedV1,
      (p) =>
        p.mailboxKey === `microsoft:${SAM_OUTLOOK}` && p.message.rfcMessageId === reply.message.messageId,
    );
    expect(incoming.message.providerThreadId).toBe(sent.providerThreadId);
    const answer = command(SAM_OUTLOOK, {
      subject: `RE: ${first.subject}`,
      replyToProviderMessageId: incoming.message.providerMessageId,
    });
    await send(answer);
    const answered = await succeeded(answer);
    expect(answered.providerThreadId).toBe(sent.providerThreadId);
    const sentCopy = h.sandbox.control
      .mailbox(SAM_OUTLOOK)
      .sent.find((m) => m.id === answered.providerMessageId);
    expect(sentCopy?.threadId).toBe(sent.providerThreadId);
    expect(sentCopy?.inReplyTo).toBe(reply.message.messageId);
  });

  it.each([
    ['Gmail', SAM_GMAIL, CASEY],
    ['Graph', SAM_OUTLOOK, ROBIN],
  ])(
    'SND-6 (%s): gateway killed after the provider accepted a send but before recording it → after restart, no second copy',
    async (_name, from, contact) => {
      const c = command(from);
      await send(c);
      const first = await succeeded(c);
      // The state a crash between the provider call and the commit leaves behind: the attempt is still "sending".
      await h.query(`UPDATE mail_gateway.send_log SET state = 'sending', sent_at = NULL WHERE send_id = $1`, [
        c.sendId,
      ]);
      await h.restartGateway();
      // The command is redelivered (the offset was never committed in that crash).
      await send(c);
      const second = await succeeded(c, 2);
      expect(second.providerMessageId).toBe(first.providerMessageId);
      expect(
        h.sandbox.control.mailbox(contact).inbox.filter((m) => m.messageId === first.rfcMessageId),
      ).toHaveLength(1);
      const [row] = await h.query<{ state: string; attempts: number }>(
        `SELECT state, attempts FROM mail_gateway.send_log WHERE send_id = $1`,
        [c.sendId],
      );
      expect(row).toEqual({ state: 'sent', attempts: 1 });
    },
  );

  it('SND-6: a redelivered command for a send already recorded does nothing', async () => {
    const c = command(SAM_GMAIL);
    await send(c);
    await succeeded(c);
    await send(c);
    await send(c);
    const marker = command(SAM_GMAIL);
    await send(marker);
    await succeeded(marker);
    expect(h.log.of(sendSucceededV1, (p) => p.sendId === c.sendId)).toHaveLength(1);
    expect(inboxWith(CASEY, c.rfcMessageId)).toHaveLength(1);
  });

  it('SND-4: a Gmail mailbox sends at most 500 emails per rolling day; the next one is refused with the cap and its reset time', async () => {
    // 499 sends through this mailbox in the last day, the oldest 23 hours ago.
    await h.query(
      `INSERT INTO mail_gateway.send_log (send_id, location_id, route, mailbox_key, kind, state, rfc_message_id, created_at)
       SELECT gen_random_uuid(), 'loc_1', 'mailbox', $1, 'individual', 'sent', '<old' || i || '@crm>',
              now() - interval '23 hours' + make_interval(secs => i)
         FROM generate_series(1, 499) AS i`,
      [connections[KIM_GMAIL].mailboxKey],
    );
    const last = command(KIM_GMAIL);
    await send(last);
    await succeeded(last);
    const over = command(KIM_GMAIL);
    await send(over);
    const [refused] = await h.log.waitFor(sendFailedV1, (p) => p.sendId === over.sendId);
    expect(refused.code).toBe('sending_cap_reached');
    expect(refused.message).toContain('the Gmail cap of 500 individual emails per 24 hours');
    expect(refused.message).toContain('(500 sent through the platform in the last 24 hours)');
    const resetsAt = Date.parse(/after (\S+)\.$/.exec(refused.message)![1]);
    expect(Math.abs(resetsAt - (Date.now() + 3_600_000))).toBeLessThan(120_000);
    expect(inboxWith(CASEY, over.rfcMessageId)).toHaveLength(0);
    expect(inboxWith(CASEY, last.rfcMessageId)).toHaveLength(1);
    expect(h.log.of(sendSucceededV1, (p) => p.sendId === over.sendId)).toHaveLength(0);
  });

  it('SND-4: only individual emails count toward the cap; bulk mail through an Outlook mailbox neither counts nor is refused, and the reset time is when the cap-th most recent individual send leaves the day', async () => {
    const mailboxKey = connections[SAM_OUTLOOK].mailboxKey;
    // Individual sends up to one below Outlook's cap of 10,000 (earlier tests sent some through this mailbox), the
    // oldest 23 hours ago, and older bulk sends through the same mailbox that must not count (nor give the reset time).
    const [earlier] = await h.query<{ count: string }>(
      `SELECT count(*) AS count FROM mail_gateway.send_log
        WHERE mailbox_key = $1 AND kind = 'individual' AND state IN ('sending', 'sent')`,
      [mailboxKey],
    );
    await h.query(
      `INSERT INTO mail_gateway.send_log (send_id, location_id, route, mailbox_key, kind, state, rfc_message_id, created_at)
       SELECT gen_random_uuid(), 'loc_1', 'mailbox', $1, 'individual', 'sent', '<seed-ind' || i || '@crm>',
              now() - interval '23 hours' + make_interval(secs => i)
         FROM generate_series(1, $2::int) AS i
       UNION ALL
       SELECT gen_random_uuid(), 'loc_1', 'mailbox', $1, 'bulk', 'sent', '<seed-bulk' || i || '@crm>',
              now() - interval '23 hours 30 minutes'
         FROM generate_series(1, 5) AS i`,
      [mailboxKey, 9_999 - Number(earlier.count)],
    );
    try {
      const bulk = (): SendCommand => command(SAM_OUTLOOK, { kind: 'bulk' });
      const first = bulk();
      await send(first);
      await succeeded(first);
      const last = command(SAM_OUTLOOK);
      await send(last);
      await succeeded(last);
      // At the cap: bulk mail still goes out, the next individual email is refused.
      const afterCap = bulk();
      await send(afterCap);
      await succeeded(afterCap);
      const over = command(SAM_OUTLOOK);
      await send(over);
      const [refused] = await h.log.waitFor(sendFailedV1, (p) => p.sendId === over.sendId);
      expect(refused.code).toBe('sending_cap_reached');
      expect(refused.message).toContain('(10000 sent through the platform in the last 24 hours)');
      const resetsAt = Date.parse(/after (\S+)\.$/.exec(refused.message)![1]);
      expect(Math.abs(resetsAt - (Date.now() + 3_600_000))).toBeLessThan(120_000);
      expect(inboxWith(ROBIN, over.rfcMessageId)).toHaveLength(0);
    } finally {
      await h.query(`DELETE FROM mail_gateway.send_log WHERE rfc_message_id LIKE '<seed-%'`);
    }
  });

  it('SND-2/3: location-provider mail goes through the location SMTP relay', async () => {
    const c = command(SAM_GMAIL, {
      kind: 'workflow',
      locationId: 'loc_smtp',
      route: { kind: 'location_provider' },
      from: { name: 'Acme', address: 'news@acme.example' },
      to: [{ address: 'lead@example.org' }],
      bcc: [{ address: 'audit@example.org' }],
    });
    await send(c);
    const ok = await succeeded(c);
    expect(ok).toMatchObject({ provider: null, providerMessageId: null, rfcMessageId: c.rfcMessageId });
    const mail = relayed.find((r) => r.raw.includes(c.rfcMessageId));
    expect(mail).toBeDefined();
    expect(mail!.from).toBe('news@acme.example');
    expect(mail!.to.sort()).toEqual(['audit@example.org', 'lead@example.org']);
    expect(mail!.raw).toContain(`X-Mailbridge-Ref: ${c.sendId}`);
    expect(mail!.raw).not.toMatch(/^Bcc:/m);
  });

  it('SND-3: without a relay, location-provider mail is written to the pickup directory as an .eml file', async () => {
    const c = command(SAM_GMAIL, {
      kind: 'bulk',
      locationId: 'loc_pickup',
      route: { kind: 'location_provider' },
    });
    await send(c);
    await succeeded(c);
    const eml = await fs.readFile(path.join(pickupDir, `${c.sendId}.eml`), 'utf8');
    expect(eml).toContain(`Message-ID: ${c.rfcMessageId}`);
    expect(eml).toContain(c.subject);
  });

  it('CON-4: a send routed through a connection this service knows was disconnected is refused with connection_ended; nothing is sent', async () => {
    // A second connection of the same mailbox (another location), then disconnected: the mailbox stays watched for
    // loc_1, so only the connection's own status can stop the send.
    const other = await h.connect(SAM_GMAIL, 'google', 'loc_2');
    await h.publish(
      eventCatalog.create(connectionDisconnectedV1, {
        connection: { ...other, status: 'disconnected' },
        disconnectedAt: new Date().toISOString(),
      }),
    );
    await expectEventually(async () =>
      expect(
        await h.query(`SELECT status FROM mail_gateway.mailbox_connections WHERE connection_id = $1`, [
          other.connectionId,
        ]),
      ).toEqual([{ status: 'disconnected' }]),
    );
    // sync-engine routed it before it learned of the disconnect.
    const c = command(SAM_GMAIL, {
      locationId: 'loc_2',
      userId: other.userId,
      route: {
        kind: 'mailbox',
        connectionId: other.connectionId,
        provider: 'google',
        mailboxKey: other.mailboxKey,
        fromAddress: SAM_GMAIL,
      },
    });
    await send(c);
    const [failed] = await h.log.waitFor(sendFailedV1, (p) => p.sendId === c.sendId);
    expect(failed.code).toBe('connection_ended');
    expect(failed.message).toContain(`${SAM_GMAIL} was disconnected before this email was sent`);
    const marker = command(SAM_GMAIL);
    await send(marker);
    await succeeded(marker);
    expect(inboxWith(CASEY, c.rfcMessageId)).toHaveLength(0);
    expect(h.log.of(sendSucceededV1, (p) => p.sendId === c.sendId)).toHaveLength(0);
  });

  it('CON-5: a send through a connection whose grant is dead fails with auth_revoked, nothing is sent', async () => {
    const c = command(SAM_GMAIL);
    // The user revoked the app: Google refuses the cached token, and identity-connections the refresh (409).
    h.sandbox.control.revokeTokens(SAM_GMAIL);
    h.identity.reauthRequired.add(connections[SAM_GMAIL].connectionId);
    try {
      await send(c);
      const [failed] = await h.log.waitFor(sendFailedV1, (p) => p.sendId === c.sendId);
      expect(failed.code).toBe('auth_revoked');
      expect(h.identity.calls).toContainEqual({
        connectionId: connections[SAM_GMAIL].connectionId,
        forceRefresh: true,
      });
    } finally {
      h.identity.reauthRequired.delete(connections[SAM_GMAIL].connectionId);
    }
    await expectEventually(() => expect(inboxWith(CASEY, c.rfcMessageId)).toHaveLength(0));
  });
});
