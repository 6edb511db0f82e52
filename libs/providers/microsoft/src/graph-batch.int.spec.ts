import tls from 'node:tls';
import { startSandboxProviders, type SandboxProviders } from '@mailbridge/sandbox-providers';
import { GraphMailApi } from './graph-mail.api';

const USER = 'codec-olly@outlook.sandbox.test';

describe('GraphMailApi.mimeBatch: messages $value through JSON $batch (sandbox)', () => {
  let sandbox: SandboxProviders;
  let api: GraphMailApi;
  let ids: string[];

  beforeAll(async () => {
    sandbox = await startSandboxProviders({ mailboxes: [{ provider: 'microsoft', address: USER }] });
    tls.setDefaultCACertificates([...tls.getCACertificates('default'), sandbox.caCertPem]);
    api = new GraphMailApi({ baseUrl: sandbox.urls.graph });
    ids = [];
    for (let i = 0; i < 4; i++) {
      const r = await sandbox.control.deliver(USER, {
        from: 'a@example.com',
        subject: `Graph batch ${i}`,
        text: `g${i}`,
        ...(i === 2
          ? {
              attachments: [
                {
                  filename: 'x.bin',
                  contentType: 'application/octet-stream',
                  content: Buffer.from([0, 255, 1, 254]),
                },
              ],
            }
          : {}),
      });
      ids.push(r.message.id);
    }
  });
  afterAll(() => sandbox.close());

  const token = () => String(sandbox.control.issueTokens(USER).access_token);

  it('returns each MIME byte-exact (as the single $value call does), in the order asked; a missing one is not_found', async () => {
    const results = await api.mimeBatch(token(), [ids[2], 'AAMkAGnope', ids[0]]);
    expect(results.map((r) => [r.id, r.ok])).toEqual([
      [ids[2], true],
      ['AAMkAGnope', false],
      [ids[0], true],
    ]);
    const single = Buffer.concat(await (await api.mime(token(), ids[2])).toArray());
    const first = results[0];
    expect(first.ok && first.value.equals(single)).toBe(true);
    const missing = results[1];
    expect(!missing.ok && missing.error.code).toBe('not_found');
  });

  it('a 429 inside the batch is that request rate_limited with its Retry-After, the others served', async () => {
    sandbox.control.injectFault('graph', {
      status: 429,
      count: 1,
      pathIncludes: encodeURIComponent(ids[1]),
      retryAfterSeconds: 2,
    });
    const results = await api.mimeBatch(token(), ids);
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ok', 'rate_limited', 'ok', 'ok']);
    const throttled = results[1];
    expect(!throttled.ok && throttled.error.retryAfterMs).toBe(2000);
  });

  it('20 per batch at most; a bad token fails the batch as auth_revoked', async () => {
    await expect(
      api.mimeBatch(
        token(),
        Array.from({ length: 21 }, () => ids[0]),
      ),
    ).rejects.toThrow(RangeError);
    await expect(api.mimeBatch('bad', [ids[0]])).rejects.toMatchObject({
      code: 'auth_revoked',
      tokenRejected: true,
    });
  });
});
