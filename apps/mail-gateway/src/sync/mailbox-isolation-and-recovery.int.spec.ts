import {
  mailboxMessageQuarantinedV1,
  mailboxSyncHealthChangedV1,
  messageObservedV1,
} from '@mailbridge/contracts';
import { expectEventually } from '@mailbridge/testing';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness';

const SAM_GMAIL = 'sam@gmail.sandbox.test';
const KIM_GMAIL = 'kim@gmail.sandbox.test';
const LEE_GMAIL = 'lee@gmail.sandbox.test';
const SAM_OUTLOOK = 'sam@outlook.sandbox.test';
const ALEX = 'alex@example.com';

/**
 * Issue 14, loss paths 1 and 3, against the sandbox Gmail: one message that cannot be recorded never halts its
 * mailbox (SYN-10), and a mailbox recovers by itself after any 5xx storm. Settings keep the wall time short; the
 * mechanisms are the real ones (the back-off ceiling is a setting, the storm is injected by the sandbox).
 */
describe('mail-gateway: per-message isolation and unconditional recovery (sandbox Gmail, Kafka, PostgreSQL)', () => {
  let h: GatewayHarness;

  beforeAll(async () => {
    h = await startGatewayHarness({
      sandbox: {
        mailboxes: [
          { provider: 'google', address: SAM_GMAIL, displayName: 'Sam' },
          { provider: 'google', address: KIM_GMAIL, displayName: 'Kim' },
          { provider: 'google', address: LEE_GMAIL, displayName: 'Lee' },
          { provider: 'microsoft', address: SAM_OUTLOOK, displayName: 'Sam' },
        ],
      },
      env: { MAILBOX_RETRY_MAX_SECONDS: '2', MESSAGE_MAX_ATTEMPTS: '3' },
    });
    await Promise.all([
      h.connect(SAM_GMAIL, 'google'),
      h.connect(KIM_GMAIL, 'google'),
      h.connect(LEE_GMAIL, 'google'),
      h.connect(SAM_OUTLOOK, 'microsoft'),
    ]);
    // A generic, message-specific failure: recording one chosen provider message id is refused by the database.
    await h.query(`CREATE TABLE mail_gateway.test_poison (provider_message_id text PRIMARY KEY)`);
    await h.query(`
      CREATE FUNCTION mail_gateway.test_reject_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM mail_gateway.test_poison p WHERE p.provider_message_id = NEW.provider_message_id)
        THEN RAISE EXCEPTION 'test poison: % cannot be stored', NEW.provider_message_id;
        END IF;
        RETURN NEW;
      END $$`);
    await h.query(`
      CREATE TRIGGER test_reject_poison BEFORE INSERT ON mail_gateway.observed_messages
      FOR EACH ROW EXECUTE FUNCTION mail_gateway.test_reject_poison()`);
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });
  afterEach(() => {
    h.sandbox.control.clearFaults();
    h.sandbox.control.setNotificationBehaviour('all', { drop: false, duplicate: false, hold: false });
  });

  const observedOf = (id: string) => h.log.of(messageObservedV1, (p) => p.message.providerMessageId === id);
  const waitObserved = (id: string, timeoutMs = 30_000) =>
    h.log.waitFor(messageObservedV1, (p) => p.message.providerMessageId === id, 1, timeoutMs);
  const internal = async (method: 'GET' | 'POST', path: string) => {
    const res = await fetch(`${h.gateway.url.replace('localhost', '127.0.0.1')}${path}`, {
      method,
      headers: { authorization: `Bearer ${h.internalApiToken}` },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const mailboxRow = async (address: string) => (await h.mailbox(address, 'google'))!;

  it("SYN-10 loss path 1: one poison message delays the mailbox's other mail by at most 60 s and is quarantined with a sync-event", async () => {
    const mailboxKey = `google:${SAM_GMAIL}`;
    // One pull sees the poison message between two good ones (their notifications are held until the id is known).
    h.sandbox.control.setNotificationBehaviour('google', { hold: true });
    const before = await h.sandbox.control.deliver(SAM_GMAIL, { from: ALEX, subject: 'Before', text: 'b' });
    const poison = await h.sandbox.control.deliver(SAM_GMAIL, {
      from: 'stranger@example.net',
      subject: 'Poison',
      text: 'p',
    });
    const after = await h.sandbox.control.deliver(SAM_GMAIL, { from: ALEX, subject: 'After', text: 'a' });
    await h.query(`INSERT INTO mail_gateway.test_poison VALUES ($1)`, [poison.message.id]);
    h.sandbox.control.setNotificationBehaviour('google', { hold: false });
    h.sandbox.control.releaseHeldNotifications();

    // The rest of the page is recorded at once; the poison message's failure is counted, not the page's.
    await waitObserved(before.message.id);
    await waitObserved(after.message.id);
    await expectEventually(async () =>
      expect(
        await h.query(`SELECT attempts FROM mail_gateway.message_failures WHERE provider_message_id = $1`, [
          poison.message.id,
        ]),
      ).toEqual([{ attempts: expect.any(Number) }]),
    );
    // Mail arriving later in the same mailbox (a later page) waits at most 60 s.
    const later = await h.sandbox.control.deliver(SAM_GMAIL, { from: ALEX, subject: 'Later', text: 'l' });
    await waitObserved(later.message.id, 60_000);

    const [quarantined] = await h.log.waitFor(
      mailboxMessageQuarantinedV1,
      (p) => p.providerMessageId === poison.message.id,
      1,
      60_000,
    );
    expect(quarantined).toMatchObject({
      mailboxKey,
      stage: 'gateway.pull',
      errorClass: 'QueryFailedError',
      attempts: 3,
      connections: [expect.objectContaining({ locationId: expect.any(String) })],
    });
    expect(quarantined.error).toContain('test poison');
    expect(observedOf(poison.message.id)).toHaveLength(0);
    for (const id of [before.message.id, after.message.id, later.message.id])
      expect(observedOf(id)).toHaveLength(1);
    await expectEventually(async () => expect((await mailboxRow(SAM_GMAIL)).stage).toBe('watching'));

    // Operators list it and retry it once the cause is gone: observed exactly once.
    const listed = await internal('GET', '/internal/quarantine/messages');
    expect(listed.status).toBe(200);
    const items = listed.body.items as Array<{ id: string; providerMessageId: string; errorClass: string }>;
    const entry = items.find((i) => i.providerMessageId === poison.message.id)!;
    expect(entry).toMatchObject({ errorClass: 'QueryFailedError' });
    expect(entry.id).toBe(quarantined.quarantineId);

    const stillFailing = await internal('POST', `/internal/quarantine/messages/${entry.id}/retry`);
    expect(stillFailing).toMatchObject({ status: 200, body: { outcome: 'failed' } });
    await h.query(`DELETE FROM mail_gateway.test_poison`);
    const retried = await internal('POST', `/internal/quarantine/messages/${entry.id}/retry`);
    expect(retried).toMatchObject({ status: 200, body: { outcome: 'observed' } });
    await waitObserved(poison.message.id);
    const again = await internal('POST', `/internal/quarantine/messages/${entry.id}/retry`);
    expect(again).toMatchObject({ status: 200, body: { outcome: 'already_observed' } });
    expect(
      (await internal('GET', '/internal/quarantine/messages')).body.items as unknown[],
    ).not.toContainEqual(expect.objectContaining({ id: entry.id }));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(observedOf(poison.message.id)).toHaveLength(1);
    expect(
      h.log.of(mailboxMessageQuarantinedV1, (p) => p.providerMessageId === poison.message.id),
    ).toHaveLength(1);
  }, 180_000);

  it('SYN-10 loss path 1 (Graph): a poison message is quarantined while the folder flows, and a retry observes it once', async () => {
    h.sandbox.control.setNotificationBehaviour('microsoft', { hold: true });
    const poison = await h.sandbox.control.deliver(SAM_OUTLOOK, {
      from: 'stranger@example.net',
      subject: 'Poison',
      text: 'p',
    });
    const good = await h.sandbox.control.deliver(SAM_OUTLOOK, { from: ALEX, subject: 'Good', text: 'g' });
    await h.query(`INSERT INTO mail_gateway.test_poison VALUES ($1)`, [poison.message.id]);
    h.sandbox.control.setNotificationBehaviour('microsoft', { hold: false });
    h.sandbox.control.releaseHeldNotifications();

    await waitObserved(good.message.id);
    const [quarantined] = await h.log.waitFor(
      mailboxMessageQuarantinedV1,
      (p) => p.providerMessageId === poison.message.id,
      1,
      60_000,
    );
    expect(quarantined).toMatchObject({
      mailboxKey: `microsoft:${SAM_OUTLOOK}`,
      stage: 'gateway.pull',
      errorClass: 'QueryFailedError',
    });
    const later = await h.sandbox.control.deliver(SAM_OUTLOOK, { from: ALEX, subject: 'Later', text: 'l' });
    await waitObserved(later.message.id, 60_000);

    await h.query(`DELETE FROM mail_gateway.test_poison`);
    const retryAt = Date.now();
    const retried = await internal('POST', `/internal/quarantine/messages/${quarantined.quarantineId}/retry`);
    expect(retried).toMatchObject({ status: 200, body: { outcome: 'observed' } });
    const [observed] = await waitObserved(poison.message.id);
    // Fetched as the pull would have: its folder and received time were kept with the failure.
    expect(observed).toMatchObject({ inSent: false, labels: ['inbox'], direction: 'inbound' });
    expect(Date.parse(observed.message.receivedAt)).toBeLessThan(retryAt);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(observedOf(poison.message.id)).toHaveLength(1);
    for (const id of [good.message.id, later.message.id]) expect(observedOf(id)).toHaveLength(1);
  }, 120_000);

  it('loss path 3: after a 5xx storm longer than the old back-off horizon ends, the mailbox syncs again within 2 minutes without any other event', async () => {
    // The storm of the report: 40 answers, 503 and 500, for this mailbox only (4 per pull: PROVIDER_MAX_ATTEMPTS).
    h.sandbox.control.injectFault('gmail', { status: 503, count: 20, mailbox: KIM_GMAIL });
    h.sandbox.control.injectFault('gmail', { status: 500, count: 20, mailbox: KIM_GMAIL });
    const delivered = await h.sandbox.control.deliver(KIM_GMAIL, { from: ALEX, subject: 'Storm', text: 's' });
    await expectEventually(async () => expect((await mailboxRow(KIM_GMAIL)).stage).toBe('error'));
    // From now on no notification reaches the gateway (and the safety-net poll is an hour away).
    h.sandbox.control.setNotificationBehaviour('google', { drop: true });
    // The storm ends once all 40 answers were given: 10 failed pulls (the old back-off reached minutes by then).
    await expectEventually(
      async () => expect(Number((await mailboxRow(KIM_GMAIL)).failures)).toBeGreaterThanOrEqual(10),
      { timeoutMs: 150_000, intervalMs: 200 },
    );
    await waitObserved(delivered.message.id, 120_000);
    await expectEventually(async () => expect((await mailboxRow(KIM_GMAIL)).stage).toBe('watching'));
    // The CRM saw the error with its reason, then the mailbox syncing again.
    await expectEventually(() => {
      const health = h.log.of(mailboxSyncHealthChangedV1, (p) => p.mailboxKey === `google:${KIM_GMAIL}`);
      expect(health.some((p) => p.stage === 'error' && p.lastError?.code === 'temporary')).toBe(true);
      expect(health[health.length - 1]).toMatchObject({ stage: 'watching', lastError: null });
    });
    expect(observedOf(delivered.message.id)).toHaveLength(1);
  }, 300_000);

  it('loss path 3: a notification wakes a backed-off mailbox', async () => {
    h.sandbox.control.injectFault('gmail', { status: 503, count: 100_000, mailbox: LEE_GMAIL });
    const first = await h.sandbox.control.deliver(LEE_GMAIL, { from: ALEX, subject: 'First', text: '1' });
    await expectEventually(async () => expect((await mailboxRow(LEE_GMAIL)).stage).toBe('error'));
    // Backed off for 10 minutes, as the old back-off left a mailbox after a long storm (set again if a retry that
    // was under way overwrote it).
    await expectEventually(
      async () => {
        await h.query(
          `UPDATE mail_gateway.mailboxes SET backoff_until = now() + interval '10 minutes' WHERE mailbox_key = $1`,
          [`google:${LEE_GMAIL}`],
        );
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        const row = await mailboxRow(LEE_GMAIL);
        expect(row.stage).toBe('error');
        expect((row.backoff_until as Date).getTime()).toBeGreaterThan(Date.now() + 5 * 60_000);
      },
      { timeoutMs: 60_000 },
    );
    h.sandbox.control.clearFaults();
    // The provider is healthy again and tells us about new mail: the notification wakes the mailbox.
    const second = await h.sandbox.control.deliver(LEE_GMAIL, { from: ALEX, subject: 'Second', text: '2' });
    await waitObserved(second.message.id, 20_000);
    await waitObserved(first.message.id, 5_000);
    await expectEventually(async () => expect((await mailboxRow(LEE_GMAIL)).stage).toBe('watching'));
  }, 120_000);
});
