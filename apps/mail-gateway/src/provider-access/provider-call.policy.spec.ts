import { GoogleProviderError } from '@mailbridge/providers-google';
import { MicrosoftProviderError } from '@mailbridge/providers-microsoft';
import { ServiceMetrics, createLogger } from '@mailbridge/platform-observability';
import { GatewayMetrics } from '../common/gateway.metrics';
import { mailGatewayConfigSchema } from '../mail-gateway.config';
import { MailboxBudgets } from './mailbox-budget';
import { ProviderCallPolicy, type CallTarget } from './provider-call.policy';
import { MailboxThrottledError, MessageCallFailedError } from './provider-failure';

const config = mailGatewayConfigSchema.parse({
  PROVIDER_MAX_INLINE_WAIT_MS: '50',
  PROVIDER_MAX_ATTEMPTS: '3',
});
const policy = () =>
  new ProviderCallPolicy(
    config,
    new GatewayMetrics(new ServiceMetrics('test', { defaultMetrics: false })),
    createLogger({ service: 'test', level: 'silent' }),
  );

function target(provider: 'google' | 'microsoft' = 'google') {
  const tokens: boolean[] = [];
  const t: CallTarget = {
    key: `${provider}:a@b.test`,
    provider,
    token: async (force) => {
      tokens.push(force);
      return force ? 'fresh' : 'cached';
    },
  };
  return { t, tokens };
}

describe('ProviderCallPolicy', () => {
  it('CON-5: a refused token is refreshed once (identity-connections learns of a dead grant this way), then given up', async () => {
    const { t, tokens } = target();
    const seen: string[] = [];
    const refused = new GoogleProviderError('auth_revoked', '401', { status: 401, tokenRejected: true });
    await expect(
      policy().run(t, { operation: 'op', idempotent: true }, async (token) => {
        seen.push(token);
        throw refused;
      }),
    ).rejects.toBe(refused);
    expect(seen).toEqual(['cached', 'fresh']);
    expect(tokens).toEqual([false, true]);
  });

  it('waits out a short Retry-After in place, for the whole mailbox', async () => {
    const { t } = target('microsoft');
    let calls = 0;
    const p = policy();
    const result = await p.run(t, { operation: 'op', idempotent: false }, async () => {
      if (++calls === 1)
        throw new MicrosoftProviderError('rate_limited', '429', { status: 429, retryAfterMs: 20 });
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(calls).toBe(2);
  });

  it('turns a Retry-After longer than worth waiting into a mailbox pause', async () => {
    const { t } = target();
    const p = policy();
    const error = await p
      .run(t, { operation: 'op', idempotent: true }, async () => {
        throw new GoogleProviderError('rate_limited', '429', { status: 429, retryAfterMs: 60_000 });
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailboxThrottledError);
    expect((error as MailboxThrottledError).retryAfterMs).toBe(60_000);
    expect(p.budgets.pausedFor(t.key)).toBeGreaterThan(59_000);
    expect(p.budgets.pausedFor('google:other@b.test')).toBe(0);
  });

  it('SND-6: retries temporary failures of idempotent calls only', async () => {
    const temporary = new GoogleProviderError('temporary', '503', { status: 503 });
    let reads = 0;
    await expect(
      policy().run(target().t, { operation: 'read', idempotent: true }, async () => {
        if (++reads < 3) throw temporary;
        return 'read';
      }),
    ).resolves.toBe('read');
    let sends = 0;
    await expect(
      policy().run(target().t, { operation: 'send', idempotent: false }, async () => {
        sends++;
        throw temporary;
      }),
    ).rejects.toBe(temporary);
    expect(sends).toBe(1);
  });
});

describe('MailboxBudgets', () => {
  it('allows at most N concurrent Graph requests per mailbox, independently per mailbox', async () => {
    const budgets = new MailboxBudgets({ gmailUnitsPerMinute: 1000, graphMaxConcurrent: 2 });
    const a1 = await budgets.acquire('m:a', 'microsoft', 1);
    await budgets.acquire('m:a', 'microsoft', 1);
    const other = await budgets.acquire('m:b', 'microsoft', 1);
    let third = false;
    const waiting = budgets.acquire('m:a', 'microsoft', 1).then((release) => {
      third = true;
      return release;
    });
    await new Promise((r) => setImmediate(r));
    expect(third).toBe(false);
    a1();
    (await waiting)();
    expect(third).toBe(true);
    other();
  });

  it('spends Gmail quota units and waits for the bucket to refill', async () => {
    let now = 0;
    const budgets = new MailboxBudgets({ gmailUnitsPerMinute: 600, graphMaxConcurrent: 4 }, () => now);
    await budgets.acquire('g:a', 'google', 600);
    const pending = budgets.acquire('g:a', 'google', 5);
    let done = false;
    void pending.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    now += 1_000; // 10 units refilled
    await pending;
    expect(done).toBe(true);
  });

  describe('runBatch', () => {
    const notFound = () => new GoogleProviderError('not_found', '404', { status: 404 });
    const throttled = (ms = 10) =>
      new GoogleProviderError('rate_limited', '429', { status: 429, retryAfterMs: ms });
    const broken = () => new GoogleProviderError('temporary', '500', { status: 500 });

    it('keeps each item its own answer; a 429 item alone is asked again after its Retry-After', async () => {
      const { t } = target();
      const asked: string[][] = [];
      const results = await policy().runBatch(
        t,
        { operation: 'get', idempotent: true, unitsPerItem: 5 },
        ['a', 'b', 'c'],
        async (_token, ids) => {
          asked.push([...ids]);
          return ids.map((id) =>
            id === 'b' && asked.length === 1
              ? { id, ok: false as const, error: throttled() }
              : id === 'c'
                ? { id, ok: false as const, error: notFound() }
                : { id, ok: true as const, value: id.toUpperCase() },
          );
        },
      );
      expect(asked).toEqual([['a', 'b', 'c'], ['b']]);
      expect(results.get('a')).toMatchObject({ ok: true, value: 'A' });
      expect(results.get('b')).toMatchObject({ ok: true, value: 'B' });
      expect(results.get('c')).toMatchObject({ ok: false, error: { code: 'not_found' } });
    });

    it('SYN-10: an item still failing temporarily while its neighbours were served is the message own failure', async () => {
      const { t } = target();
      const results = await policy().runBatch(
        t,
        { operation: 'get', idempotent: true },
        ['a', 'b'],
        async (_token, ids) =>
          ids.map((id) =>
            id === 'b' ? { id, ok: false as const, error: broken() } : { id, ok: true as const, value: 1 },
          ),
      );
      const b = results.get('b');
      expect(b?.ok).toBe(false);
      expect(!b?.ok && b?.error).toBeInstanceOf(MessageCallFailedError);
    });

    it('when every item fails temporarily the failure stays the mailbox one (a storm, not a message)', async () => {
      const { t } = target();
      let calls = 0;
      const results = await policy().runBatch(
        t,
        { operation: 'get', idempotent: true },
        ['a', 'b'],
        async (_token, ids) => {
          calls++;
          return ids.map((id) => ({ id, ok: false as const, error: broken() }));
        },
      );
      expect(calls).toBe(3);
      for (const id of ['a', 'b']) {
        const r = results.get(id);
        expect(!r?.ok && r?.error).toBeInstanceOf(GoogleProviderError);
      }
    });

    it('CON-5: a token refused in any part refreshes once and resends the whole batch', async () => {
      const { t, tokens } = target();
      const seen: string[] = [];
      const results = await policy().runBatch(
        t,
        { operation: 'get', idempotent: true },
        ['a', 'b'],
        async (token, ids) => {
          seen.push(token);
          return ids.map((id) =>
            token === 'cached' && id === 'b'
              ? {
                  id,
                  ok: false as const,
                  error: new GoogleProviderError('auth_revoked', '401', { status: 401, tokenRejected: true }),
                }
              : { id, ok: true as const, value: token },
          );
        },
      );
      expect(seen).toEqual(['cached', 'fresh']);
      expect(tokens).toEqual([false, true]);
      expect(results.get('a')).toMatchObject({ ok: true, value: 'fresh' });
    });

    it('a Retry-After too long to wait in place pauses the mailbox and ends the items as MailboxThrottledError', async () => {
      const { t } = target();
      const p = policy();
      const results = await p.runBatch(
        t,
        { operation: 'get', idempotent: true },
        ['a', 'b'],
        async (_token, ids) =>
          ids.map((id) =>
            id === 'a'
              ? { id, ok: false as const, error: throttled(60_000) }
              : { id, ok: true as const, value: 1 },
          ),
      );
      const a = results.get('a');
      expect(!a?.ok && a?.error).toBeInstanceOf(MailboxThrottledError);
      expect(p.budgets.pausedFor(t.key)).toBeGreaterThan(50_000);
    });
  });
});
