import {
  GOOGLE_USER,
  Harness,
  MICROSOFT_USER,
  RETURN_URL,
  accessToken,
  connectMailbox,
  newKey,
  startHarness,
} from '../testing/identity-harness';
import { runRotateTokenKeys } from '../vault/rotate-token-keys.command';

describe('identity-connections: access tokens for the gateway and the token vault', () => {
  let h: Harness;
  const k1 = newKey();
  const k2 = newKey();
  let google: string;
  let microsoft: string;

  const refreshCalls = () => h.googleTokenCalls.filter((c) => c.grantType === 'refresh_token').length;
  const idOf = async (loc: string, user: string) =>
    (
      await h.sql<{ connection_id: string }>(
        `SELECT connection_id FROM identity_connections.connections
          WHERE location_id = $1 AND user_id = $2 AND status = 'active'`,
        [loc, user],
      )
    )[0].connection_id;
  const burst = (id: string, n: number, force?: boolean) =>
    Promise.all(Array.from({ length: n }, async () => accessToken(h, id, force)));

  beforeAll(async () => {
    h = await startHarness({ TOKEN_ENCRYPTION_KEYS: `k1:${k1}` });
    await connectMailbox(h, {
      provider: 'google',
      locationId: 'loc_t',
      userId: 'usr_g',
      mailbox: GOOGLE_USER,
    });
    await connectMailbox(h, {
      provider: 'microsoft',
      locationId: 'loc_t',
      userId: 'usr_m',
      mailbox: MICROSOFT_USER,
    });
    google = await idOf('loc_t', 'usr_g');
    microsoft = await idOf('loc_t', 'usr_m');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('serves a token with more than 5 minutes left from the vault, without calling the provider', async () => {
    const before = refreshCalls();
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => accessToken(h, google)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(answers.map((a) => a.body.accessToken as string)).size).toBe(1);
    expect(Date.parse(answers[0].body.expiresAt as string) - Date.now()).toBeGreaterThan(5 * 60_000);
    expect(refreshCalls()).toBe(before);
  });

  it('50 concurrent token requests when less than 5 minutes remain make one refresh call at the emulator', async () => {
    const old = (await accessToken(h, google)).body.accessToken as string;
    await h.sql(
      `UPDATE identity_connections.connection_tokens SET access_expires_at = now() + interval '2 minutes'
        WHERE connection_id = $1`,
      [google],
    );
    const before = refreshCalls();
    const answers = await burst(google, 50);
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const tokens = new Set(answers.map((a) => a.body.accessToken as string));
    expect(tokens.size).toBe(1);
    expect(tokens.has(old)).toBe(false);
    expect(refreshCalls()).toBe(before + 1);
    // Stored: the next request is served from the vault again.
    expect((await accessToken(h, google)).body.accessToken).toBe([...tokens][0]);
    expect(refreshCalls()).toBe(before + 1);
  });

  it('a burst of 50 forced refreshes (the provider answered 401) also makes one refresh call', async () => {
    const old = (await accessToken(h, google)).body.accessToken as string;
    const before = refreshCalls();
    const answers = await burst(google, 50, true);
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const tokens = new Set(answers.map((a) => a.body.accessToken as string));
    expect(tokens.size).toBe(1);
    expect(tokens.has(old)).toBe(false);
    expect(refreshCalls()).toBe(before + 1);
  });

  it('Microsoft: a burst of forced refreshes shares one MSAL refresh, and the rolled refresh token is kept', async () => {
    const old = (await accessToken(h, microsoft)).body.accessToken as string;
    const cacheBefore = (
      await h.sql<{ secret_enc: string }>(
        `SELECT secret_enc FROM identity_connections.connection_tokens WHERE connection_id = $1`,
        [microsoft],
      )
    )[0].secret_enc;
    const answers = await burst(microsoft, 50, true);
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const tokens = new Set(answers.map((a) => a.body.accessToken as string));
    expect(tokens.size).toBe(1);
    expect(tokens.has(old)).toBe(false);
    const cacheAfter = (
      await h.sql<{ secret_enc: string }>(
        `SELECT secret_enc FROM identity_connections.connection_tokens WHERE connection_id = $1`,
        [microsoft],
      )
    )[0].secret_enc;
    expect(cacheAfter).not.toBe(cacheBefore);
    // A fresh process (nothing in memory) refreshes from the stored cache: the rolled refresh token works.
    await h.restart();
    const again = await accessToken(h, microsoft, true);
    expect(again.status).toBe(200);
    expect(tokens.has(again.body.accessToken as string)).toBe(false);
  });

  it('key rotation: rotate, re-encrypt with the new key, remove the old key, tokens still work', async () => {
    // A started flow too: its PKCE verifier is encrypted like a token.
    await h
      .http()
      .post('/v1/locations/loc_t/users/usr_flow/email-connection/google/authorize')
      .set('Authorization', `Bearer ${h.token('loc_t', 'usr_flow')}`)
      .send({ returnUrl: RETURN_URL })
      .expect(200);
    const vault = () =>
      h.sql<{ id: string; key_id: string; enc: string }>(
        `SELECT connection_id::text AS id, key_id, secret_enc AS enc FROM identity_connections.connection_tokens
         UNION ALL SELECT state_id::text, key_id, code_verifier_enc FROM identity_connections.oauth_states
         ORDER BY 1`,
      );
    const before = await vault();
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(before.every((r) => r.key_id === 'k1' && r.enc.startsWith('v1.k1.'))).toBe(true);
    const tokenBefore = (await accessToken(h, google)).body.accessToken as string;

    // 1. Every replica gets the new key first (encrypts with k2, still reads k1); 2. the command re-encrypts.
    await h.restart({ TOKEN_ENCRYPTION_KEYS: `k2:${k2},k1:${k1}` });
    const code = await runRotateTokenKeys({
      DATABASE_URL: h.db.url,
      TOKEN_ENCRYPTION_KEYS: `k2:${k2},k1:${k1}`,
      LOG_LEVEL: 'silent',
    });
    expect(code).toBe(0);
    const after = await vault();
    expect(after.map((r) => r.id)).toEqual(before.map((r) => r.id));
    expect(after.every((r) => r.key_id === 'k2' && r.enc.startsWith('v1.k2.'))).toBe(true);
    after.forEach((r, i) => expect(r.enc).not.toBe(before[i].enc));

    // 3. The old key is removed: everything still opens, and refreshes still work at both providers.
    await h.restart({ TOKEN_ENCRYPTION_KEYS: `k2:${k2}` });
    const served = await accessToken(h, google);
    expect(served.status).toBe(200);
    expect(served.body.accessToken).toBe(tokenBefore);
    const refreshed = await accessToken(h, google, true);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.accessToken).not.toBe(tokenBefore);
    expect((await accessToken(h, microsoft, true)).status).toBe(200);
    const stillK2 = await vault();
    expect(stillK2.every((r) => r.key_id === 'k2')).toBe(true);

    // Running it again has nothing left to do.
    expect(
      await runRotateTokenKeys({
        DATABASE_URL: h.db.url,
        TOKEN_ENCRYPTION_KEYS: `k2:${k2}`,
        LOG_LEVEL: 'silent',
      }),
    ).toBe(0);
    expect(await vault()).toEqual(stillK2);

    // Had the new key been removed instead, the service says so clearly rather than crashing or leaking.
    await h.restart({ TOKEN_ENCRYPTION_KEYS: `k1:${k1}` });
    const missing = await accessToken(h, google);
    expect(missing.status).toBe(503);
    expect(missing.body.error.code).toBe('token_key_missing');
    await h.restart({ TOKEN_ENCRYPTION_KEYS: `k2:${k2}` });
    expect((await accessToken(h, google)).status).toBe(200);
  });

  it('refuses to start with a malformed key, naming the variable and not the key', async () => {
    const bad = `k1:${newKey().slice(0, 20)}`;
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const code = await runRotateTokenKeys({
        DATABASE_URL: h.db.url,
        TOKEN_ENCRYPTION_KEYS: bad,
        LOG_LEVEL: 'silent',
      });
      expect(code).toBe(1);
      const said = stderr.mock.calls.map((c) => String(c[0])).join('');
      expect(said).toContain('TOKEN_ENCRYPTION_KEYS');
      expect(said).toContain('exactly 32 bytes');
      expect(said).not.toContain(bad.slice(3));
    } finally {
      stderr.mockRestore();
    }
  });
});
