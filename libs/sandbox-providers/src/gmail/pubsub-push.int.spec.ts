import type { gmail_v1 } from '@googleapis/gmail';
import { OAuth2Client } from 'google-auth-library';
import { startSandboxProviders, type SandboxProviders } from '../index';
import { gmailClient, googleOAuthClient } from '../test-support/clients';
import { eventually, startWebhookReceiver } from '../test-support/webhook-receiver';

interface PushEnvelope {
  message: { data: string; messageId: string; message_id: string; publishTime: string; publish_time: string };
  subscription: string;
}

describe('Pub/Sub push of Gmail watch notifications', () => {
  let sandbox: SandboxProviders;
  let env: Record<string, string>;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let counter = 0;

  beforeAll(async () => {
    receiver = await startWebhookReceiver(() => ({ status: 204 }));
    sandbox = await startSandboxProviders({
      google: { pushMinIntervalMs: 300, pushRetry: { minBackoffMs: 20, maxBackoffMs: 40, maxAttempts: 5 } },
    });
    env = sandbox.platformEnv();
    sandbox.control.setPushEndpoint({ pushEndpoint: `${receiver.url}/push/gmail` });
  });
  afterAll(async () => {
    await sandbox.close();
    await receiver.close();
  });
  afterEach(() => {
    receiver.setResponder(() => ({ status: 204 }));
    sandbox.control.setNotificationBehaviour('google', {
      drop: false,
      duplicate: false,
      hold: false,
      delayMs: 0,
    });
  });

  /** A fresh watched mailbox per test keeps the one-per-second limit of one test out of the next. */
  async function watchedMailbox(
    labelIds: string[] = ['INBOX'],
  ): Promise<{ address: string; api: gmail_v1.Gmail }> {
    const address = `watched${++counter}@gmail.sandbox.test`;
    sandbox.control.createMailbox({ provider: 'google', address });
    const auth = googleOAuthClient(env);
    const tokens = sandbox.control.issueTokens(address);
    auth.setCredentials({
      access_token: String(tokens.access_token),
      refresh_token: String(tokens.refresh_token),
    });
    const api = gmailClient(env, auth);
    await api.users.watch({ userId: 'me', requestBody: { topicName: env.GMAIL_PUBSUB_TOPIC, labelIds } });
    return { address, api };
  }

  const pushesFor = (address: string) =>
    receiver.requests
      .filter((r) => r.url.pathname === '/push/gmail')
      .map((r) => ({
        req: r,
        envelope: r.json as PushEnvelope,
        data: JSON.parse(Buffer.from((r.json as PushEnvelope).message.data, 'base64').toString()) as {
          emailAddress: string;
          historyId: string;
        },
      }))
      .filter((p) => p.data.emailAddress === address);

  it('posts the wrapped envelope with an OIDC token that OAuth2Client.verifyIdToken accepts', async () => {
    const { address, api } = await watchedMailbox();
    await sandbox.control.deliver(address, { subject: 'Ping', text: 'x' });
    const [push] = await eventually(() => {
      const p = pushesFor(address);
      expect(p).toHaveLength(1);
      return p;
    });
    const { data: profile } = await api.users.getProfile({ userId: 'me' });
    expect(push.data).toEqual({ emailAddress: address, historyId: profile.historyId });
    expect(push.envelope.message.messageId).toBe(push.envelope.message.message_id);
    expect(push.envelope.message.publishTime).toBe(push.envelope.message.publish_time);
    expect(push.envelope.subscription).toMatch(/^projects\/mailbridge-sandbox\/subscriptions\//);
    expect(push.req.headers['user-agent']).toContain('APIs-Google');

    const bearer = String(push.req.headers.authorization).replace(/^Bearer /, '');
    const verifier = new OAuth2Client({
      endpoints: { oauth2FederatedSignonPemCertsUrl: env.GOOGLE_OAUTH_CERTS_URL },
      transporterOptions: { fetchImplementation: fetch },
    });
    const ticket = await verifier.verifyIdToken({ idToken: bearer, audience: env.GMAIL_PUSH_AUDIENCE });
    const payload = ticket.getPayload();
    expect(payload).toMatchObject({
      iss: 'https://accounts.google.com',
      email: env.GMAIL_PUSH_SERVICE_ACCOUNT,
      email_verified: true,
    });
    expect(payload!.exp - payload!.iat).toBe(3600);
    await expect(
      verifier.verifyIdToken({ idToken: bearer, audience: 'https://someone-else.example' }),
    ).rejects.toThrow(/Wrong recipient/);
  });

  it('redelivers on a non-ack status with the same messageId', async () => {
    const { address } = await watchedMailbox();
    let failures = 2;
    receiver.setResponder(() => (failures-- > 0 ? { status: 500 } : { status: 204 }));
    await sandbox.control.deliver(address, { subject: 'Retry', text: 'x' });
    const pushes = await eventually(() => {
      const p = pushesFor(address);
      expect(p).toHaveLength(3);
      return p;
    });
    expect(new Set(pushes.map((p) => p.envelope.message.messageId)).size).toBe(1);
    // The sandbox logs an outcome once the receiver's answer is back: after the receiver saw the push.
    await eventually(() => {
      const log = sandbox.control
        .notifications('google')
        .filter((r) => r.id === pushes[0].envelope.message.messageId);
      expect(log.map((r) => [r.outcome, r.status])).toEqual([
        ['nacked', 500],
        ['nacked', 500],
        ['acked', 204],
      ]);
    });
  });

  it('sends at most one notification per interval per mailbox, carrying the latest historyId', async () => {
    const { address, api } = await watchedMailbox();
    for (const n of [1, 2, 3]) await sandbox.control.deliver(address, { subject: `Burst ${n}`, text: 'x' });
    await sandbox.control.notificationsIdle();
    const pushes = pushesFor(address);
    expect(pushes).toHaveLength(2);
    const { data: profile } = await api.users.getProfile({ userId: 'me' });
    expect(pushes[1].data.historyId).toBe(profile.historyId);
  });

  it('only notifies for changes matching the watch label filter', async () => {
    const { address, api } = await watchedMailbox(['INBOX']);
    const raw = Buffer.from('To: someone@example.com\r\nSubject: Out\r\n\r\nx').toString('base64url');
    await api.users.messages.send({ userId: 'me', requestBody: { raw } });
    await sandbox.control.notificationsIdle();
    expect(pushesFor(address)).toHaveLength(0);
  });

  it('can drop, duplicate and hold notifications', async () => {
    const dropped = await watchedMailbox();
    sandbox.control.setNotificationBehaviour('google', { drop: true });
    await sandbox.control.deliver(dropped.address, { subject: 'Lost', text: 'x' });
    await sandbox.control.notificationsIdle();
    expect(pushesFor(dropped.address)).toHaveLength(0);
    expect(sandbox.control.notifications('google').some((r) => r.outcome === 'dropped')).toBe(true);

    const duplicated = await watchedMailbox();
    sandbox.control.setNotificationBehaviour('google', { drop: false, duplicate: true });
    await sandbox.control.deliver(duplicated.address, { subject: 'Twice', text: 'x' });
    const twice = await eventually(() => {
      const p = pushesFor(duplicated.address);
      expect(p).toHaveLength(2);
      return p;
    });
    expect(twice[0].envelope.message.messageId).toBe(twice[1].envelope.message.messageId);

    const held = await watchedMailbox();
    sandbox.control.setNotificationBehaviour('google', { duplicate: false, hold: true });
    await sandbox.control.deliver(held.address, { subject: 'Later', text: 'x' });
    await sandbox.control.notificationsIdle();
    expect(pushesFor(held.address)).toHaveLength(0);
    expect(sandbox.control.releaseHeldNotifications('google')).toBe(1);
    await eventually(() => expect(pushesFor(held.address)).toHaveLength(1));
  });
});
