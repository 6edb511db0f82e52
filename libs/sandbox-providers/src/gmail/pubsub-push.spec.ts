import { systemClock } from '../shared/clock';
import { IdFactory } from '../shared/id-factory';
import { decodeJwtPayload, keyMaterial } from '../shared/key-material';
import { PUSH_TOKEN_REUSE_MS, PubSubPush, type PushTopic } from './pubsub-push';

describe('PubSubPush OIDC tokens (issue 16: one RSA signature per push was the emulator cost, not Google)', () => {
  let push: PubSubPush;
  const topic: PushTopic = {
    topicName: 'projects/p/topics/t',
    subscription: 'projects/p/subscriptions/s',
    audience: 'https://mailbridge.example/push',
    serviceAccountEmail: 'push@p.iam.gserviceaccount.com',
  };

  beforeAll(async () => {
    const keys = await keyMaterial();
    push = new PubSubPush(systemClock, new IdFactory(1), keys.google, {
      minIntervalMs: 0,
      ackDeadlineMs: 1_000,
      retry: { maxAttempts: 1, minBackoffMs: 1, maxBackoffMs: 1 },
    });
  });
  afterAll(() => push.close());
  afterEach(() => jest.restoreAllMocks());

  it('reuses the token of an audience and service account for a few minutes, then mints a fresh one', () => {
    const t0 = Date.UTC(2026, 0, 1);
    const now = jest.spyOn(Date, 'now').mockReturnValue(t0);
    const first = push.token(topic, 'https://ignored.example');
    now.mockReturnValue(t0 + PUSH_TOKEN_REUSE_MS - 1);
    expect(push.token(topic, 'https://ignored.example')).toBe(first);
    now.mockReturnValue(t0 + PUSH_TOKEN_REUSE_MS);
    const fresh = push.token(topic, 'https://ignored.example');
    expect(fresh).not.toBe(first);
    expect(decodeJwtPayload(fresh)).toMatchObject({
      aud: topic.audience,
      iat: Math.floor((t0 + PUSH_TOKEN_REUSE_MS) / 1000),
      exp: Math.floor((t0 + PUSH_TOKEN_REUSE_MS) / 1000) + 3600,
    });
  });

  it('never gives one audience or service account the token of another', () => {
    const a = push.token(topic, 'https://ignored.example');
    const otherAudience = push.token({ ...topic, audience: 'https://other.example/push' }, 'x');
    const otherAccount = push.token(
      { ...topic, serviceAccountEmail: 'other@p.iam.gserviceaccount.com' },
      'x',
    );
    const byEndpoint = push.token({ ...topic, audience: undefined }, 'https://endpoint.example/push');
    expect(decodeJwtPayload(otherAudience)?.aud).toBe('https://other.example/push');
    expect(decodeJwtPayload(otherAccount)?.email).toBe('other@p.iam.gserviceaccount.com');
    expect(decodeJwtPayload(byEndpoint)?.aud).toBe('https://endpoint.example/push');
    expect(new Set([a, otherAudience, otherAccount, byEndpoint]).size).toBe(4);
  });
});
