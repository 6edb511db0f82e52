import { readdir } from 'node:fs/promises';
import path from 'node:path';
import {
  connectionDisconnectedV1,
  connectionReactivatedV1,
  eventCatalog,
  mailboxNotificationReceivedV1,
  mailboxSyncGapV1,
  mailboxSyncHealthChangedV1,
  messageObservedV1,
} from '@mailbridge/contracts';
import type { ConnectionSnapshot } from '@mailbridge/contracts';
import type { RetentionPruner } from '@mailbridge/platform-persistence';
import { RETENTION_PRUNER } from '@mailbridge/platform-runtime';
import { expectEventually } from '@mailbridge/testing';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness';

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n');
const SAM_GMAIL = 'sam@gmail.sandbox.test';
const KIM_GMAIL = 'kim@gmail.sandbox.test';
const SAM_OUTLOOK = 'sam@outlook.sandbox.test';
const LEE_OUTLOOK = 'lee@outlook.sandbox.test';
const ALEX = 'alex@example.com';

describe('mail-gateway sync against the sandbox providers (Kafka + PostgreSQL)', () => {
  let h: GatewayHarness;
  let kimConnection: ConnectionSnapshot;

  beforeAll(async () => {
    h = await startGatewayHarness({
      sandbox: {
        mailboxes: [
          { provider: 'google', address: SAM_GMAIL, displayName: 'Sam' },
          { provider: 'google', address: KIM_GMAIL, displayName: 'Kim' },
          { provider: 'microsoft', address: SAM_OUTLOOK, displayName: 'Sam' },
          { provider: 'microsoft', address: LEE_OUTLOOK, displayName: 'Lee' },
        ],
      },
      // The safety net is what delivers mail whose notification was lost; short here so tests need not wait minutes.
      env: { SAFETY_NET_POLL_SECONDS: '3' },
    });
    await h.sandbox.control.deliver(SAM_GMAIL, { from: ALEX, subject: 'Before connecting', text: 'old' });
    await h.sandbox.control.deliver(SAM_OUTLOOK, { from: ALEX, subject: 'Before connecting', text: 'old' });
    // The start point is the connect instant to the provider's precision (Graph: whole seconds): connect in a later second.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    [, kimConnection] = await Promise.all([
      h.connect(SAM_GMAIL, 'google'),
      h.connect(KIM_GMAIL, 'google'),
      h.connect(SAM_OUTLOOK, 'microsoft'),
    ]);
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });
  afterEach(() => {
    h.sandbox.control.clearFaults();
    h.sandbox.control.setNotificationBehaviour('all', { drop: false, duplicate: false, hold: false });
  });

  const observedOf = (id: string) => h.log.of(messageObservedV1, (p) => p.message.providerMessageId === id);
  const waitObserved = async (id: string, timeoutMs = 30_000) =>
    (await h.log.waitFor(messageObservedV1, (p) => p.message.providerMessageId === id, 1, timeoutMs))[0];
  const gmailPushes = (address: string) =>
    h.sandbox.control.notifications('google').filter((n) => {
      const data = (n.body as { message?: { data?: string } }).message?.data ?? '';
      return Buffer.from(data, 'base64').toString().includes(address);
    });

  it('CON-6: mail that was in the mailboxes before they were connected is never observed', async () => {
    const probe = await h.sandbox.control.deliver(SAM_GMAIL, { from: ALEX, subject: 'Probe', text: 'x' });
    await waitObserved(probe.message.id);
    expect(h.log.of(messageObservedV1, (p) => p.message.subject === 'Before connecting')).toHaveLength(0);
  });

  it('a message delivered to a watched Gmail mailbox produces exactly one observed event, with all fields', async () => {
    const delivered = await h.sandbox.control.deliver(SAM_GMAIL, {
      from: { name: 'Alex Doe', address: ALEX },
      to: [SAM_GMAIL],
      cc: ['carol@example.com'],
      subject: 'Quote for you',
      text: 'Hello Sam',
      html: '<p>Hello Sam</p>',
      inReplyTo: '<earlier@example.com>',
      attachments: [{ filename: 'quote.pdf', contentType: 'application/pdf', content: PDF }],
    });
    const observed = await waitObserved(delivered.message.id);
    expect(observed).toMatchObject({
      mailboxKey: `google:${SAM_GMAIL}`,
      mailboxAddress: SAM_GMAIL,
      source: 'mailbox',
      direction: 'inbound',
      inSent: false,
      message: {
        provider: 'google',
        providerThreadId: delivered.message.threadId,
        rfcMessageId: delivered.message.messageId,
        inReplyTo: '<earlier@example.com>',
        references: ['<earlier@example.com>'],
        from: { name: 'Alex Doe', address: ALEX },
        to: [{ address: SAM_GMAIL }],
        cc: [{ address: 'carol@example.com' }],
        bcc: [],
        subject: 'Quote for you',
        bodyTruncated: false,
        attachments: [
          expect.objectContaining({
            filename: 'quote.pdf',
            contentType: 'application/pdf',
            size: PDF.length,
            detectedKind: 'pdf',
            objectKey: expect.stringMatching(/^sha256-[0-9a-f]{64}$/),
          }),
        ],
      },
    });
    expect(observed.message.text).toContain('Hello Sam');
    expect(observed.message.html).toContain('<p>Hello Sam</p>');
    expect(observed.message.sentAt).toEqual(expect.any(String));
    // The raw RFC 822 is not kept by default (STORE_RAW_MESSAGES): the store holds attachments only.
    expect(observed.message.rawObjectKey).toBeUndefined();
    const attachmentKeys = new Set(
      h.log.of(messageObservedV1).flatMap((e) => e.message.attachments.map((a) => a.objectKey)),
    );
    const stored = (await readdir(path.join(h.objectDir, 'sha256'), { recursive: true }))
      .map((f) => path.basename(f))
      .filter((f) => /^[0-9a-f]{64}$/.test(f));
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.filter((hex) => !attachmentKeys.has(`sha256-${hex}`))).toEqual([]);
    expect(observed.labels).toContain('INBOX');
    // It came through the push path: an acknowledged Pub/Sub push and its durable hand-off.
    expect(gmailPushes(SAM_GMAIL).some((n) => n.outcome === 'acked')).toBe(true);
    expect(
      h.log.of(mailboxNotificationReceivedV1, (p) => p.mailboxKey === `google:${SAM_GMAIL}`).length,
    ).toBeGreaterThan(0);
    await h.handOffsConsumed();
    expect(observedOf(delivered.message.id)).toHaveLength(1);
  });

  it("the user's own Gmail Sent copy is observed as outbound, in Sent, with its Bcc", async () => {
    const sent = await h.sandbox.control.send(SAM_GMAIL, {
      to: [ALEX],
      bcc: ['boss@example.com'],
      subject: 'Sent from Gmail',
      text: 'Hi Alex',
    });
    const observed = await waitObserved(sent.message.id);
    expect(observed).toMatchObject({
      direction: 'outbound',
      inSent: true,
      message: {
        from: { address: SAM_GMAIL },
        to: [{ address: ALEX }],
        bcc: [{ address: 'boss@example.com' }],
        subject: 'Sent from Gmail',
      },
    });
    expect(observed.labels).toContain('SENT');
  });

  it('a message delivered to a watched Outlook mailbox produces exactly one observed event; the Sent copy is outbound', async () => {
    const delivered = await h.sandbox.control.deliver(SAM_OUTLOOK, {
      from: { name: 'Alex Doe', address: ALEX },
      to: [SAM_OUTLOOK],
      subject: 'Hello Outlook',
      text: 'Hi there',
      attachments: [{ filename: 'quote.pdf', contentType: 'application/pdf', content: PDF }],
    });
    const inbound = await waitObserved(delivered.message.id);
    expect(inbound).toMatchObject({
      mailboxKey: `microsoft:${SAM_OUTLOOK}`,
      direction: 'inbound',
      inSent: false,
      labels: ['inbox'],
      message: {
        provider: 'microsoft',
        providerThreadId: delivered.message.threadId,
        rfcMessageId: delivered.message.messageId,
        from: { name: 'Alex Doe', address: ALEX },
        to: [{ address: SAM_OUTLOOK }],
        subject: 'Hello Outlook',
        attachments: [
          expect.objectContaining({ filename: 'quote.pdf', detectedKind: 'pdf', size: PDF.length }),
        ],
      },
    });
    expect(inbound.message.text).toContain('Hi there');

    const sent = await h.sandbox.control.send(SAM_OUTLOOK, {
      replyTo: delivered.message.id,
      text: 'Thanks!',
    });
    const outbound = await waitObserved(sent.message.id);
    expect(outbound).toMatchObject({
      direction: 'outbound',
      inSent: true,
      labels: ['sentitems'],
      message: { providerThreadId: delivered.message.threadId, inReplyTo: delivered.message.messageId },
    });
    await h.handOffsConsumed();
    expect(observedOf(delivered.message.id)).toHaveLength(1);
    expect(observedOf(sent.message.id)).toHaveLength(1);
  });

  it('SYN-5: a notification pushed twice and handed off again (another replica) produces one observed event', async () => {
    h.sandbox.control.setNotificationBehaviour('google', { duplicate: true });
    const delivered = await h.sandbox.control.deliver(KIM_GMAIL, {
      from: ALEX,
      subject: 'Twice and more',
      text: 'x',
    });
    await waitObserved(delivered.message.id);
    await expectEventually(() =>
      expect(gmailPushes(KIM_GMAIL).filter((n) => n.outcome === 'acked').length).toBeGreaterThanOrEqual(2),
    );
    // The sandbox's two deliveries share a Pub/Sub message id, so this replica hands them off once (issue 16). The
    // same notification handed off once more (another replica, a redelivery after a restart) must change nothing.
    // The test's own consumer may read the hand-offs later than the gateway did: wait for one before copying it.
    const [first] = await h.log.waitFor(
      mailboxNotificationReceivedV1,
      (p) => p.mailboxKey === `google:${KIM_GMAIL}`,
    );
    await h.publish(eventCatalog.create(mailboxNotificationReceivedV1, first));
    await expectEventually(() =>
      expect(
        h.log.of(mailboxNotificationReceivedV1, (p) => p.mailboxKey === `google:${KIM_GMAIL}`).length,
      ).toBeGreaterThanOrEqual(2),
    );
    await h.handOffsConsumed();
    await expectEventually(async () =>
      expect((await h.mailbox(KIM_GMAIL, 'google'))?.pull_requested_at).toBeNull(),
    );
    expect(observedOf(delivered.message.id)).toHaveLength(1);
  });

  it('observed ids older than OBSERVED_MESSAGE_RETENTION_DAYS are forgotten; recent ones are kept', async () => {
    const recent = await h.sandbox.control.deliver(SAM_GMAIL, { from: ALEX, subject: 'Recent', text: 'r' });
    const { mailboxId } = await waitObserved(recent.message.id);
    await h.query(
      `INSERT INTO mail_gateway.observed_messages (mailbox_id, provider_message_id, observed_at)
       SELECT $1, 'expired-' || n, now() - interval '31 days' FROM generate_series(1, 3) AS n`,
      [mailboxId],
    );
    // The service's own first round may already have run: the rows left are what counts.
    await h.gateway.app.get<RetentionPruner>(RETENTION_PRUNER).pruneOnce();
    const left = await h.query<{ provider_message_id: string }>(
      `SELECT provider_message_id FROM mail_gateway.observed_messages WHERE mailbox_id = $1`,
      [mailboxId],
    );
    expect(left.map((r) => r.provider_message_id)).toContain(recent.message.id);
    expect(left.filter((r) => r.provider_message_id.startsWith('expired-'))).toEqual([]);
  });

  it('a dropped notification is made up for by the safety-net poll', async () => {
    h.sandbox.control.setNotificationBehaviour('google', { drop: true });
    const delivered = await h.sandbox.control.deliver(KIM_GMAIL, {
      from: ALEX,
      subject: 'Lost ping',
      text: 'x',
    });
    expect(gmailPushes(KIM_GMAIL).some((n) => n.outcome === 'dropped')).toBe(true);
    await waitObserved(delivered.message.id);
    expect(observedOf(delivered.message.id)).toHaveLength(1);
  });

  it('Gmail history expired: the gap is re-listed and nothing in it is lost (compared by message id)', async () => {
    h.sandbox.control.setNotificationBehaviour('google', { drop: true });
    // Hold the safety net back, so the cursor is still the old one when history expires.
    await h.query(
      `UPDATE mail_gateway.mailboxes SET last_pull_at = now() + interval '1 hour' WHERE mailbox_key = $1`,
      [`google:${SAM_GMAIL}`],
    );
    const inGap = [];
    for (let i = 0; i < 3; i++) {
      inGap.push(
        await h.sandbox.control.deliver(SAM_GMAIL, { from: ALEX, subject: `In the gap ${i}`, text: `${i}` }),
      );
    }
    const sentInGap = await h.sandbox.control.send(SAM_GMAIL, {
      to: [ALEX],
      subject: 'Sent in the gap',
      text: 's',
    });
    h.sandbox.control.expireHistory(SAM_GMAIL);
    const eventsBefore = h.log.events.length;
    h.sandbox.control.setNotificationBehaviour('google', { drop: false });
    const after = await h.sandbox.control.deliver(SAM_GMAIL, {
      from: ALEX,
      subject: 'After the gap',
      text: 'a',
    });

    const expected = [...inGap, sentInGap, after].map((d) => d.message.id).sort();
    await expectEventually(
      () =>
        expect(
          h.log
            .of(messageObservedV1, (p) => expected.includes(p.message.providerMessageId))
            .map((p) => p.message.providerMessageId)
            .sort(),
        ).toEqual(expected),
      { timeoutMs: 30_000 },
    );
    // The pull met the expired cursor and re-listed (stage catching_up), then went back to watching.
    await expectEventually(() =>
      expect(
        h.log.events
          .slice(eventsBefore)
          .filter((e) => eventCatalog.is(e, mailboxSyncHealthChangedV1))
          .map((e) => e.payload as { mailboxKey: string; stage: string })
          .filter((p) => p.mailboxKey === `google:${SAM_GMAIL}`)
          .map((p) => p.stage),
      ).toEqual(['catching_up', 'watching']),
    );
    expect(h.log.of(mailboxSyncGapV1, (p) => p.mailboxKey === `google:${SAM_GMAIL}`)).toHaveLength(0);
    await expectEventually(async () => expect((await h.mailbox(SAM_GMAIL, 'google'))?.recovery).toBeNull());
  });

  it('CON-5: history expired beyond the re-list window → the uncovered range is reported as a sync gap', async () => {
    h.sandbox.control.setNotificationBehaviour('google', { drop: true });
    await h.query(
      `UPDATE mail_gateway.mailboxes SET baseline_at = now() - interval '60 days',
              cursor_synced_at = now() - interval '30 days',
              last_pull_at = now() + interval '1 hour' WHERE mailbox_key = $1`,
      [`google:${SAM_GMAIL}`],
    );
    const inWindow = await h.sandbox.control.deliver(SAM_GMAIL, {
      from: ALEX,
      subject: 'Within the window',
      text: 'w',
    });
    h.sandbox.control.expireHistory(SAM_GMAIL);
    h.sandbox.control.setNotificationBehaviour('google', { drop: false });
    const after = await h.sandbox.control.deliver(SAM_GMAIL, {
      from: ALEX,
      subject: 'After the long gap',
      text: 'a',
    });

    const [gap] = await h.log.waitFor(mailboxSyncGapV1, (p) => p.mailboxKey === `google:${SAM_GMAIL}`);
    const day = 86_400_000;
    expect(gap.reason).toBe('history_expired');
    expect(Math.abs(Date.parse(gap.from) - (Date.now() - 30 * day))).toBeLessThan(day);
    expect(Math.abs(Date.parse(gap.to) - (Date.now() - 7 * day))).toBeLessThan(day);
    expect(gap.connections).toHaveLength(1);
    await waitObserved(inWindow.message.id);
    await waitObserved(after.message.id);
  });

  it('Graph missed: the lifecycle event catches the mailbox up by delta', async () => {
    h.sandbox.control.setNotificationBehaviour('microsoft', { drop: true });
    await h.query(
      `UPDATE mail_gateway.mailboxes SET last_pull_at = now() + interval '1 hour' WHERE mailbox_key = $1`,
      [`microsoft:${SAM_OUTLOOK}`],
    );
    const delivered = await h.sandbox.control.deliver(SAM_OUTLOOK, {
      from: ALEX,
      subject: 'Missed one',
      text: 'm',
    });
    h.sandbox.control.setNotificationBehaviour('microsoft', { drop: false });
    expect(h.sandbox.control.lifecycle({ mailbox: SAM_OUTLOOK }, 'missed')).toBe(2);
    await h.log.waitFor(
      mailboxNotificationReceivedV1,
      (p) => p.mailboxKey === `microsoft:${SAM_OUTLOOK}` && p.lifecycleEvent === 'missed',
    );
    await waitObserved(delivered.message.id);
    await h.query(`UPDATE mail_gateway.mailboxes SET last_pull_at = now() WHERE mailbox_key = $1`, [
      `microsoft:${SAM_OUTLOOK}`,
    ]);
  });

  it('Graph subscription removed: it is recreated (new id, new clientState) and notifications flow again', async () => {
    const before = h.sandbox.control.subscriptions(SAM_OUTLOOK);
    expect(before).toHaveLength(2);
    const inbox = before.find((s) => /inbox/i.test(s.resource))!;
    h.sandbox.control.lifecycle({ subscriptionId: inbox.id }, 'subscriptionRemoved');
    await expectEventually(() => {
      const now = h.sandbox.control.subscriptions(SAM_OUTLOOK);
      expect(now).toHaveLength(2);
      expect(now.map((s) => s.id)).not.toContain(inbox.id);
    });
    const recreated = h.sandbox.control.subscriptions(SAM_OUTLOOK).find((s) => /inbox/i.test(s.resource))!;
    expect(recreated.clientState).not.toBe(inbox.clientState);
    await expectEventually(async () =>
      expect(
        (await h.query(`SELECT subscription_id FROM mail_gateway.graph_folders WHERE folder = 'inbox'`)).map(
          (r) => r.subscription_id,
        ),
      ).toContain(recreated.id),
    );
    const delivered = await h.sandbox.control.deliver(SAM_OUTLOOK, {
      from: ALEX,
      subject: 'After recreate',
      text: 'r',
    });
    await waitObserved(delivered.message.id);
    await expectEventually(() =>
      expect(
        h.sandbox.control
          .notifications('microsoft')
          .some((n) => n.outcome === 'acked' && JSON.stringify(n.body).includes(recreated.id)),
      ).toBe(true),
    );
  });

  it('Graph reauthorizationRequired: the subscription is renewed (reauthorized, later expiry), same id', async () => {
    const [sub] = h.sandbox.control.subscriptions(SAM_OUTLOOK);
    const expiresBefore = sub.expiration;
    h.sandbox.control.lifecycle({ subscriptionId: sub.id }, 'reauthorizationRequired');
    expect(sub.reauthorizationRequired).toBe(true);
    await expectEventually(() => {
      const now = h.sandbox.control.subscriptions(SAM_OUTLOOK).find((s) => s.id === sub.id);
      expect(now?.reauthorizationRequired).toBe(false);
      expect(now!.expiration).toBeGreaterThan(expiresBefore);
    });
  });

  it('a 429 storm with Retry-After slows the mailbox without failing it, and other mailboxes keep flowing', async () => {
    h.sandbox.control.injectFault('gmail', {
      status: 429,
      count: 100_000,
      mailbox: SAM_GMAIL,
      retryAfterSeconds: 1,
    });
    const throttled = await h.sandbox.control.deliver(SAM_GMAIL, {
      from: ALEX,
      subject: 'During the storm',
      text: 't',
    });
    const flowing = await h.sandbox.control.deliver(KIM_GMAIL, {
      from: ALEX,
      subject: 'Unaffected',
      text: 'u',
    });
    await waitObserved(flowing.message.id);
    await expectEventually(async () =>
      expect((await h.mailbox(SAM_GMAIL, 'google'))?.stage).toBe('throttled'),
    );
    expect(observedOf(throttled.message.id)).toHaveLength(0);
    await h.log.waitFor(
      mailboxSyncHealthChangedV1,
      (p) =>
        p.mailboxKey === `google:${SAM_GMAIL}` &&
        p.stage === 'throttled' &&
        p.lastError?.code === 'rate_limited',
    );

    h.sandbox.control.clearFaults();
    await waitObserved(throttled.message.id);
    await expectEventually(async () =>
      expect((await h.mailbox(SAM_GMAIL, 'google'))?.stage).toBe('watching'),
    );
    const stages = h.log
      .of(mailboxSyncHealthChangedV1, (p) => p.mailboxKey === `google:${SAM_GMAIL}`)
      .map((p) => p.stage);
    expect(stages).not.toContain('error');
    expect(stages).not.toContain('paused_auth');
  });

  it('Graph delta expired (410): the folder is re-listed from its last sync and nothing in the gap is lost', async () => {
    h.sandbox.control.setNotificationBehaviour('microsoft', { drop: true });
    await h.query(
      `UPDATE mail_gateway.mailboxes SET last_pull_at = now() + interval '1 hour' WHERE mailbox_key = $1`,
      [`microsoft:${SAM_OUTLOOK}`],
    );
    const inGap = await h.sandbox.control.deliver(SAM_OUTLOOK, {
      from: ALEX,
      subject: 'Delta gap',
      text: 'g',
    });
    h.sandbox.control.expireDelta(SAM_OUTLOOK);
    h.sandbox.control.setNotificationBehaviour('microsoft', { drop: false });
    const after = await h.sandbox.control.deliver(SAM_OUTLOOK, {
      from: ALEX,
      subject: 'After delta gap',
      text: 'a',
    });
    await waitObserved(inGap.message.id);
    await waitObserved(after.message.id);
    await h.query(`UPDATE mail_gateway.mailboxes SET last_pull_at = now() WHERE mailbox_key = $1`, [
      `microsoft:${SAM_OUTLOOK}`,
    ]);
    await h.handOffsConsumed();
    // Only the gap was re-listed: older Inbox mail (observed long ago, or from before connecting) is not re-emitted.
    const ids = h.log
      .of(messageObservedV1, (p) => p.mailboxKey === `microsoft:${SAM_OUTLOOK}`)
      .map((p) => p.message.providerMessageId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(
      h.log.of(
        messageObservedV1,
        (p) => p.mailboxKey === `microsoft:${SAM_OUTLOOK}` && p.message.subject === 'Before connecting',
      ),
    ).toHaveLength(0);
    expect(h.log.of(mailboxSyncGapV1, (p) => p.mailboxKey === `microsoft:${SAM_OUTLOOK}`)).toHaveLength(0);
  });

  it('SYN-4 + CON-4: one mailbox is watched once for two connections, and stops when no active connection needs it', async () => {
    const first = await h.connect(LEE_OUTLOOK, 'microsoft', 'loc_a');
    const second = await h.connect(LEE_OUTLOOK, 'microsoft', 'loc_b');
    expect(
      await h.query(`SELECT id FROM mail_gateway.mailboxes WHERE mailbox_key = $1`, [first.mailboxKey]),
    ).toHaveLength(1);
    expect(h.sandbox.control.subscriptions(LEE_OUTLOOK)).toHaveLength(2);
    const delivered = await h.sandbox.control.deliver(LEE_OUTLOOK, {
      from: ALEX,
      subject: 'For Lee',
      text: 'l',
    });
    await waitObserved(delivered.message.id);
    await h.handOffsConsumed();
    expect(observedOf(delivered.message.id)).toHaveLength(1);

    const disconnect = async (c: ConnectionSnapshot) => {
      h.identity.ended.add(c.connectionId);
      await h.publish(
        eventCatalog.create(connectionDisconnectedV1, {
          connection: { ...c, status: 'disconnected' },
          disconnectedAt: new Date().toISOString(),
        }),
      );
    };
    await disconnect(first);
    await expectEventually(async () =>
      expect(
        await h.query(`SELECT status FROM mail_gateway.mailbox_connections WHERE connection_id = $1`, [
          first.connectionId,
        ]),
      ).toEqual([{ status: 'disconnected' }]),
    );
    expect((await h.mailbox(LEE_OUTLOOK, 'microsoft'))?.stage).toBe('watching');
    expect(h.sandbox.control.subscriptions(LEE_OUTLOOK)).toHaveLength(2);

    await disconnect(second);
    await expectEventually(async () =>
      expect((await h.mailbox(LEE_OUTLOOK, 'microsoft'))?.stage).toBe('stopped'),
    );
    expect(h.sandbox.control.subscriptions(LEE_OUTLOOK)).toHaveLength(0);
    const [stopped] = await h.log.waitFor(
      mailboxSyncHealthChangedV1,
      (p) => p.mailboxKey === first.mailboxKey && p.stage === 'stopped',
    );
    expect(stopped.connections.map((c) => c.locationId).sort()).toEqual(['loc_a', 'loc_b']);
  });

  it('CON-5: a dead grant pauses the mailbox keeping its cursor; after re-consent sync resumes and nothing is lost', async () => {
    h.sandbox.control.revokeTokens(KIM_GMAIL);
    h.identity.reauthRequired.add(kimConnection.connectionId);
    const cursor = (await h.mailbox(KIM_GMAIL, 'google'))?.history_id;
    const whilePausing = await h.sandbox.control.deliver(KIM_GMAIL, {
      from: ALEX,
      subject: 'Grant died',
      text: 'd',
    });
    await expectEventually(async () =>
      expect((await h.mailbox(KIM_GMAIL, 'google'))?.stage).toBe('paused_auth'),
    );
    const [paused] = await h.log.waitFor(
      mailboxSyncHealthChangedV1,
      (p) => p.mailboxKey === kimConnection.mailboxKey && p.stage === 'paused_auth',
    );
    expect(paused.lastError?.code).toBe('auth_revoked');
    expect(paused.connections).toEqual([
      {
        connectionId: kimConnection.connectionId,
        locationId: kimConnection.locationId,
        userId: kimConnection.userId,
      },
    ]);
    expect((await h.mailbox(KIM_GMAIL, 'google'))?.history_id).toBe(cursor);
    const whilePaused = await h.sandbox.control.deliver(KIM_GMAIL, {
      from: ALEX,
      subject: 'While paused',
      text: 'p',
    });
    expect(observedOf(whilePausing.message.id)).toHaveLength(0);

    // The user re-consents: identity-connections serves tokens again and says so.
    h.identity.reauthRequired.delete(kimConnection.connectionId);
    await h.publish(eventCatalog.create(connectionReactivatedV1, { connection: kimConnection }));
    await waitObserved(whilePausing.message.id);
    await waitObserved(whilePaused.message.id);
    await expectEventually(async () =>
      expect((await h.mailbox(KIM_GMAIL, 'google'))?.stage).toBe('watching'),
    );
  });
});
