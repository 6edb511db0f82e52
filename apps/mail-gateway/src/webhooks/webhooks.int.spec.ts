import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { mailboxNotificationReceivedV1, messageObservedV1 } from '@mailbridge/contracts';
import { expectEventually } from '@mailbridge/testing';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness';

const SAM_GMAIL = 'sam@gmail.sandbox.test';
const SAM_OUTLOOK = 'sam@outlook.sandbox.test';

describe('mail-gateway webhooks: authenticate, hand off durably, answer', () => {
  let h: GatewayHarness;
  let env: Record<string, string>;

  beforeAll(async () => {
    h = await startGatewayHarness({
      sandbox: {
        mailboxes: [
          { provider: 'google', address: SAM_GMAIL },
          { provider: 'microsoft', address: SAM_OUTLOOK },
        ],
      },
    });
    env = h.sandbox.platformEnv();
    await Promise.all([h.connect(SAM_GMAIL, 'google'), h.connect(SAM_OUTLOOK, 'microsoft')]);
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  const api = () => request(h.gateway.app.getHttpServer());
  const handOffs = (mailboxKey: string) =>
    h.log.of(mailboxNotificationReceivedV1, (p) => p.mailboxKey === mailboxKey);
  const pushBody = (emailAddress: string) => ({
    message: {
      data: Buffer.from(JSON.stringify({ emailAddress, historyId: '999999' })).toString('base64'),
      messageId: '123',
      publishTime: new Date().toISOString(),
    },
    subscription: 'projects/mailbridge-sandbox/subscriptions/gmail-watch-push',
  });
  const inboxSubscription = () =>
    h.sandbox.control.subscriptions(SAM_OUTLOOK).find((s) => /inbox/i.test(s.resource))!;

  /**
   * A genuine Graph notification, handed off after whatever was posted before it: once it is on the bus, anything
   * the earlier requests had enqueued would be there too (one outbox, published in order).
   */
  const sentinel = async () => {
    const sub = inboxSubscription();
    const before = handOffs(`microsoft:${SAM_OUTLOOK}`).length;
    await api()
      .post('/v1/webhooks/microsoft')
      .send({
        value: [
          { subscriptionId: sub.id, clientState: sub.clientState, changeType: 'created', resource: 'x' },
        ],
      })
      .expect(202);
    await expectEventually(() => expect(handOffs(`microsoft:${SAM_OUTLOOK}`).length).toBe(before + 1));
  };

  const metric = async (pattern: RegExp): Promise<number> => {
    const text = (await api().get('/metrics')).text;
    const line = text.split('\n').find((l) => pattern.test(l));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  it('a Gmail push signed with a forged key is refused with 401 and nothing is enqueued', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = jwt.sign(
      { email: env.GMAIL_PUSH_SERVICE_ACCOUNT, email_verified: true, sub: '1' },
      privateKey.export({ type: 'pkcs8', format: 'pem' }),
      {
        algorithm: 'RS256',
        keyid: 'forged-key',
        audience: env.GMAIL_PUSH_AUDIENCE,
        issuer: 'https://accounts.google.com',
        expiresIn: 3600,
      },
    );
    const before = handOffs(`google:${SAM_GMAIL}`).length;
    const rejectedBefore = await metric(
      /^mail_gateway_webhook_rejected_total\{.*provider="google".*reason="invalid_token"/,
    );
    const res = await api()
      .post('/v1/webhooks/gmail')
      .set('Authorization', `Bearer ${forged}`)
      .send(pushBody(SAM_GMAIL));
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid_push_token');
    const none = await api().post('/v1/webhooks/gmail').send(pushBody(SAM_GMAIL));
    expect(none.status).toBe(401);
    await sentinel();
    expect(handOffs(`google:${SAM_GMAIL}`)).toHaveLength(before);
    expect(
      await metric(/^mail_gateway_webhook_rejected_total\{.*provider="google".*reason="invalid_token"/),
    ).toBe(rejectedBefore + 1);
    expect(
      await metric(/^mail_gateway_webhook_rejected_total\{.*provider="google".*reason="missing_token"/),
    ).toBe(1);
  });

  it('a genuine push token for the wrong audience or service account is refused with 401; the next right one is accepted', async () => {
    const endpoint = `${h.gateway.url.replace('localhost', '127.0.0.1')}/v1/webhooks/gmail`;
    const before = handOffs(`google:${SAM_GMAIL}`).length;
    const refusedFor = async (reason: string) =>
      metric(new RegExp(`^mail_gateway_webhook_rejected_total\\{.*provider="google".*reason="${reason}"`));
    const invalidBefore = await refusedFor('invalid_token');

    h.sandbox.control.setPushEndpoint({
      pushEndpoint: endpoint,
      audience: 'https://someone-else.example/push',
    });
    const first = await h.sandbox.control.deliver(SAM_GMAIL, {
      from: 'alex@example.com',
      subject: 'Aud',
      text: 'a',
    });
    await expectEventually(async () =>
      expect(await refusedFor('invalid_token')).toBeGreaterThan(invalidBefore),
    );

    h.sandbox.control.setPushEndpoint({
      pushEndpoint: endpoint,
      audience: env.GMAIL_PUSH_AUDIENCE,
      serviceAccountEmail: 'intruder@evil.iam.gserviceaccount.com',
    });
    const second = await h.sandbox.control.deliver(SAM_GMAIL, {
      from: 'alex@example.com',
      subject: 'SA',
      text: 's',
    });
    await expectEventually(async () => expect(await refusedFor('wrong_service_account')).toBeGreaterThan(0));
    await sentinel();
    expect(handOffs(`google:${SAM_GMAIL}`)).toHaveLength(before);
    expect(h.sandbox.control.notifications('google').filter((n) => n.status === 401).length).toBeGreaterThan(
      1,
    );

    // The subscription fixed: the next notification is accepted and the pull brings everything since the cursor.
    h.sandbox.control.setPushEndpoint({
      pushEndpoint: endpoint,
      audience: env.GMAIL_PUSH_AUDIENCE,
      serviceAccountEmail: env.GMAIL_PUSH_SERVICE_ACCOUNT,
    });
    const third = await h.sandbox.control.deliver(SAM_GMAIL, {
      from: 'alex@example.com',
      subject: 'OK',
      text: 'o',
    });
    for (const d of [first, second, third]) {
      await h.log.waitFor(messageObservedV1, (p) => p.message.providerMessageId === d.message.id);
    }
    expect(handOffs(`google:${SAM_GMAIL}`).length).toBeGreaterThan(before);
  });

  it('a Graph notification with a bad clientState or an unknown subscription is refused with 401 and nothing is enqueued', async () => {
    const sub = inboxSubscription();
    const before = handOffs(`microsoft:${SAM_OUTLOOK}`).length;
    const bad = await api()
      .post('/v1/webhooks/microsoft')
      .send({
        value: [{ subscriptionId: sub.id, clientState: 'guessed', changeType: 'created', resource: 'r' }],
      });
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe('invalid_client_state');
    await api()
      .post('/v1/webhooks/microsoft/lifecycle')
      .send({ value: [{ subscriptionId: sub.id, lifecycleEvent: 'subscriptionRemoved' }] })
      .expect(401);
    await api()
      .post('/v1/webhooks/microsoft')
      .send({ value: [{ subscriptionId: 'not-ours', clientState: sub.clientState, changeType: 'created' }] })
      .expect(401);
    await api().post('/v1/webhooks/microsoft').send({ hello: 'world' }).expect(401);
    await sentinel();
    expect(handOffs(`microsoft:${SAM_OUTLOOK}`)).toHaveLength(before + 1);
    expect(h.sandbox.control.subscriptions(SAM_OUTLOOK).map((s) => s.id)).toContain(sub.id);
    expect(
      await metric(
        /^mail_gateway_webhook_rejected_total\{.*provider="microsoft".*reason="invalid_client_state"/,
      ),
    ).toBe(3);
  });

  it('issue 16: a Pub/Sub push delivered twice (same message id) is acknowledged twice and handed off once', async () => {
    const before = handOffs(`google:${SAM_GMAIL}`).length;
    const redeliveriesBefore = await metric(
      /^mail_gateway_webhook_requests_total\{.*provider="google".*outcome="redelivery"/,
    );
    const pushesBefore = new Set(h.sandbox.control.notifications('google'));
    h.sandbox.control.setNotificationBehaviour('google', { duplicate: true });
    try {
      await h.sandbox.control.deliver(SAM_GMAIL, { from: 'alex@example.com', subject: 'Twice', text: 't' });
      await expectEventually(() => {
        const acked = h.sandbox.control
          .notifications('google')
          .filter((n) => !pushesBefore.has(n) && n.outcome === 'acked');
        expect(acked).toHaveLength(2);
        expect(acked[0].id).toBe(acked[1].id);
      });
    } finally {
      h.sandbox.control.setNotificationBehaviour('google', { duplicate: false });
    }
    await sentinel(); // one outbox, published in order: a second hand-off would be on the bus by now
    expect(handOffs(`google:${SAM_GMAIL}`)).toHaveLength(before + 1);
    expect(
      await metric(/^mail_gateway_webhook_requests_total\{.*provider="google".*outcome="redelivery"/),
    ).toBe(redeliveriesBefore + 1);
  });

  it('the served OpenAPI document describes the webhook routes', async () => {
    const doc = (await api().get('/docs-json').expect(200)).body as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/webhooks/gmail',
        '/v1/webhooks/microsoft',
        '/v1/webhooks/microsoft/lifecycle',
      ]),
    );
  });

  it('the Graph validation handshake is answered in text/plain with the decoded token, on both URLs', async () => {
    for (const path of ['/v1/webhooks/microsoft', '/v1/webhooks/microsoft/lifecycle']) {
      const res = await api()
        .post(`${path}?validationToken=${encodeURIComponent('Validation: Testing client application <x&y>')}`)
        .set('Content-Type', 'text/plain; charset=utf-8')
        .send('');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.text).toBe('Validation: Testing client application <x&y>');
    }
    // The sandbox's own handshakes (at subscription creation) succeeded for both URLs of both subscriptions.
    expect(h.sandbox.control.subscriptions(SAM_OUTLOOK)).toHaveLength(2);
  });
});
