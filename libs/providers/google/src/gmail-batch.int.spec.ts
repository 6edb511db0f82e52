import { startSandboxProviders, type SandboxProviders } from '@mailbridge/sandbox-providers';
import { GmailApi } from './gmail.api';

const USER = 'codec-gina@gmail.sandbox.test';

describe('GmailApi.getRawMessages: messages.get through the HTTP batch endpoint (sandbox)', () => {
  let sandbox: SandboxProviders;
  let api: GmailApi;
  let ids: string[];

  beforeAll(async () => {
    sandbox = await startSandboxProviders({ mailboxes: [{ provider: 'google', address: USER }] });
    api = new GmailApi({ rootUrl: sandbox.platformEnv().GMAIL_API_ROOT_URL });
    ids = [];
    for (let i = 0; i < 5; i++) {
      const r = await sandbox.control.deliver(USER, {
        from: 'a@example.com',
        subject: `Batch ${i}`,
        text: `b${i}`,
      });
      ids.push(r.message.id);
    }
  });
  afterAll(() => sandbox.close());

  const token = () => String(sandbox.control.issueTokens(USER).access_token);

  it('returns each message raw, in the order asked, in one request; a deleted one is its own not_found', async () => {
    const results = await api.getRawMessages(token(), [ids[0], '0000000000000000', ids[4], ids[2]]);
    expect(results.map((r) => [r.id, r.ok])).toEqual([
      [ids[0], true],
      ['0000000000000000', false],
      [ids[4], true],
      [ids[2], true],
    ]);
    const first = results[0];
    if (!first.ok) throw new Error('expected a message');
    expect(first.value.raw.toString()).toContain('Subject: Batch 0');
    expect(first.value.labelIds).toContain('INBOX');
    expect(first.value.internalDate.getTime()).toBeGreaterThan(0);
    const missing = results[1];
    expect(!missing.ok && missing.error.code).toBe('not_found');
  });

  it('a 429 inside the batch is that call rate_limited (with Retry-After), the others still served', async () => {
    sandbox.control.injectFault('gmail', {
      status: 429,
      count: 1,
      pathIncludes: ids[1],
      retryAfterSeconds: 3,
    });
    const results = await api.getRawMessages(token(), [ids[0], ids[1], ids[3]]);
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ok', 'rate_limited', 'ok']);
    const throttled = results[1];
    expect(!throttled.ok && throttled.error.retryAfterMs).toBe(3000);
  });

  it('a rejected token fails the calls as auth_revoked with tokenRejected (the caller refreshes and retries)', async () => {
    const results = await api.getRawMessages('not-a-token', [ids[0]]);
    expect(results).toHaveLength(1);
    const r = results[0];
    expect(!r.ok && [r.error.code, r.error.tokenRejected]).toEqual(['auth_revoked', true]);
  });

  it('100 messages in one batch; more is refused before sending', async () => {
    const hundred = Array.from({ length: 100 }, (_, i) => ids[i % ids.length]);
    const results = await api.getRawMessages(token(), hundred);
    expect(results.filter((r) => r.ok)).toHaveLength(100);
    await expect(api.getRawMessages(token(), [...hundred, ids[0]])).rejects.toThrow(RangeError);
  });
});
