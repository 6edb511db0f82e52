import { randomUUID } from 'node:crypto';
import { eventCatalog, mailboxSyncHealthChangedV1, Topics } from '@mailbridge/contracts';
import { expectEventually } from '@mailbridge/testing';
import {
  GOOGLE_USER,
  Harness,
  MICROSOFT_USER,
  RETURN_URL,
  accessToken,
  connectMailbox,
  followCallback,
  pick,
  startHarness,
} from '../testing/identity-harness';
import { signState } from './oauth-state';

const STATE_SECRET = 'test-oauth-state-secret-0123456789abcdef';
const auth = (h: Harness, loc: string, user: string) => ({ Authorization: `Bearer ${h.token(loc, user)}` });

describe('identity-connections: connect flow against the sandbox providers', () => {
  let h: Harness;
  const connectionOf = async (locationId: string, userId: string) =>
    (
      await h.sql<{ connection_id: string; status: string }>(
        `SELECT connection_id, status FROM identity_connections.connections
          WHERE location_id = $1 AND user_id = $2 ORDER BY connected_at DESC`,
        [locationId, userId],
      )
    )[0];
  const count = async (table: string) =>
    Number((await h.sql<{ n: string }>(`SELECT count(*) AS n FROM identity_connections.${table}`))[0].n);

  beforeAll(async () => {
    h = await startHarness({ OAUTH_STATE_SECRET: STATE_SECRET });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('CON-1: connects Gmail end to end through the real redirect and callback, asking only for what sync needs', async () => {
    const { returnedTo, authorizeUrl } = await connectMailbox(h, {
      provider: 'google',
      locationId: 'loc_a',
      userId: 'usr_sam',
      mailbox: GOOGLE_USER,
    });

    const q = authorizeUrl.searchParams;
    expect(q.get('scope')?.split(' ').sort()).toEqual(
      ['email', 'https://www.googleapis.com/auth/gmail.modify', 'openid'].sort(),
    );
    expect(q.get('access_type')).toBe('offline');
    expect(q.get('prompt')).toBe('consent');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('redirect_uri')).toBe(`${h.publicUrl}/v1/oauth/google/callback`);
    expect(q.get('state')).toMatch(/^[\w-]+\.[\w-]+$/);

    expect(`${returnedTo.origin}${returnedTo.pathname}`).toBe('http://localhost:3000/settings/email');
    expect(returnedTo.searchParams.get('tab')).toBe('mail');
    expect(returnedTo.searchParams.get('status')).toBe('connected');

    const connected = await expectEventually(() => {
      const e = pick(h.events, 'connection.connected').find((x) => x.locationId === 'loc_a');
      expect(e).toBeDefined();
      return e!;
    });
    expect(connected.payload).toEqual({
      connection: {
        connectionId: expect.any(String),
        locationId: 'loc_a',
        userId: 'usr_sam',
        provider: 'google',
        emailAddress: GOOGLE_USER,
        mailboxKey: `google:${GOOGLE_USER}`,
        syncScope: 'contact_mail',
        status: 'active',
        connectedAt: expect.any(String),
      },
    });

    // The grant works at the provider: the token the gateway gets reads this very mailbox.
    const { connectionId } = (connected.payload as { connection: { connectionId: string } }).connection;
    const token = await accessToken(h, connectionId);
    expect(token.status).toBe(200);
    expect(token.body).toMatchObject({ connectionId, provider: 'google', emailAddress: GOOGLE_USER });
    const profile = await fetch(`${h.env.GMAIL_API_ROOT_URL}gmail/v1/users/me/profile`, {
      headers: { authorization: `Bearer ${token.body.accessToken}` },
    });
    expect(profile.status).toBe(200);
    expect(((await profile.json()) as { emailAddress: string }).emailAddress).toBe(GOOGLE_USER);
  });

  it('CON-1: connects Outlook end to end through MSAL, the real redirect and callback', async () => {
    const { returnedTo, authorizeUrl } = await connectMailbox(h, {
      provider: 'microsoft',
      locationId: 'loc_a',
      userId: 'usr_robin',
      mailbox: MICROSOFT_USER,
    });
    expect(authorizeUrl.origin).toBe(new URL(h.env.MICROSOFT_AUTHORITY_HOST).origin);
    expect(authorizeUrl.pathname).toBe('/common/oauth2/v2.0/authorize');
    expect(authorizeUrl.searchParams.get('scope')?.split(' ')).toEqual(
      expect.arrayContaining([
        'Mail.ReadWrite',
        'Mail.Send',
        'User.Read',
        'offline_access',
        'openid',
        'email',
      ]),
    );
    expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(returnedTo.searchParams.get('status')).toBe('connected');

    const connected = await expectEventually(() => {
      const e = pick(h.events, 'connection.connected').find(
        (x) => (x.payload as { connection: { userId: string } }).connection.userId === 'usr_robin',
      );
      expect(e).toBeDefined();
      return e!;
    });
    const snapshot = (connected.payload as { connection: Record<string, string> }).connection;
    expect(snapshot).toMatchObject({
      provider: 'microsoft',
      emailAddress: MICROSOFT_USER,
      mailboxKey: `microsoft:${MICROSOFT_USER}`,
      syncScope: 'crm_threads',
      status: 'active',
    });

    const token = await accessToken(h, snapshot.connectionId);
    expect(token.status).toBe(200);
    const me = await fetch(`${h.env.MICROSOFT_GRAPH_BASE_URL}/v1.0/me`, {
      headers: { authorization: `Bearer ${token.body.accessToken}` },
    });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { userPrincipalName: string }).userPrincipalName).toBe(MICROSOFT_USER);
  });

  it('CON-2: status shows provider, address, status, connected-at, and the last sync and error reported by mail-gateway', async () => {
    const res = await h
      .http()
      .get('/v1/locations/loc_a/users/usr_sam/email-connection')
      .set(auth(h, 'loc_a', 'usr_sam'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      connectionId: expect.any(String),
      provider: 'google',
      emailAddress: GOOGLE_USER,
      status: 'active',
      connectedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      lastSyncedAt: null,
      lastError: null,
      syncScope: 'contact_mail',
      lastAuditAt: null,
      completeness: null,
      // CON-7: a production Google app sets no end to the grant; SND-7: signature off by default.
      expiresAt: null,
      warning: null,
      appendSignature: false,
    });
    const { connectionId } = res.body as { connectionId: string };

    const health = (
      occurredAt: string,
      lastSyncedAt: string,
      error: { code: string; message: string } | null,
    ) =>
      eventCatalog.create(
        mailboxSyncHealthChangedV1,
        {
          mailboxId: randomUUID(),
          mailboxKey: `google:${GOOGLE_USER}`,
          connections: [{ connectionId, locationId: 'loc_a', userId: 'usr_sam' }],
          stage: error ? 'error' : 'watching',
          lastSyncedAt,
          lastNotificationAt: lastSyncedAt,
          lastError: error ? { ...error, at: occurredAt } : null,
        },
        { occurredAt: new Date(occurredAt) },
      );
    await h.bus.publish([
      {
        topic: Topics.mailMailboxes,
        envelope: health('2026-11-20T09:15:00.000Z', '2026-11-20T09:14:00.000Z', {
          code: 'provider_throttled',
          message: 'Gmail answered 429',
        }),
      },
    ]);
    await expectEventually(async () => {
      const now = await h
        .http()
        .get('/v1/locations/loc_a/users/usr_sam/email-connection')
        .set(auth(h, 'loc_a', 'usr_sam'));
      expect(now.body).toMatchObject({
        lastSyncedAt: '2026-11-20T09:14:00.000Z',
        lastError: {
          code: 'provider_throttled',
          message: 'Gmail answered 429',
          at: '2026-11-20T09:15:00.000Z',
        },
      });
    });
    // A report older than the one applied (redelivered late) changes nothing.
    await h.bus.publish([
      {
        topic: Topics.mailMailboxes,
        envelope: health('2026-11-20T08:00:00.000Z', '2026-11-20T07:59:00.000Z', null),
      },
    ]);
    const after = await h
      .http()
      .get('/v1/locations/loc_a/users/usr_sam/email-connection')
      .set(auth(h, 'loc_a', 'usr_sam'));
    expect(after.body.lastSyncedAt).toBe('2026-11-20T09:14:00.000Z');

    const none = await h
      .http()
      .get('/v1/locations/loc_a/users/usr_nobody/email-connection')
      .set(auth(h, 'loc_a', 'usr_nobody'));
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe('connection_not_found');
  });

  it('refuses a forged state: error redirect to the result page, nothing stored, the code never exchanged', async () => {
    h.sandbox.control.setConsent('google', { mode: 'approve', as: GOOGLE_USER });
    const started = await h
      .http()
      .post('/v1/locations/loc_a/users/usr_forged/email-connection/google/authorize')
      .set(auth(h, 'loc_a', 'usr_forged'))
      .send({ returnUrl: RETURN_URL });
    const atProvider = await fetch(started.body.authorizeUrl as string, { redirect: 'manual' });
    const callback = new URL(atProvider.headers.get('location') ?? '');
    const [payload, signature] = (callback.searchParams.get('state') ?? '').split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, r: 'https://evil.example/steal' })).toString(
      'base64url',
    );
    callback.searchParams.set('state', `${forged}.${signature}`);
    const exchangesBefore = h.googleTokenCalls.length;
    const connectionsBefore = await count('connections');

    const to = await followCallback(callback.toString());
    expect(`${to.origin}${to.pathname}`).toBe(`${h.publicUrl}/v1/oauth/result`);
    expect(Object.fromEntries(to.searchParams)).toEqual({ status: 'error', reason: 'invalid_state' });
    const page = await fetch(to);
    expect(page.status).toBe(400);
    expect(await page.text()).toContain('invalid_state');

    const noState = await followCallback(`${h.publicUrl}/v1/oauth/google/callback?code=abc`);
    expect(noState.searchParams.get('reason')).toBe('invalid_state');

    expect(h.googleTokenCalls.length).toBe(exchangesBefore);
    expect(await count('connections')).toBe(connectionsBefore);
  });

  it('refuses a replayed callback (state_already_used): the code is exchanged once, one connection event', async () => {
    const first = await connectMailbox(h, {
      provider: 'google',
      locationId: 'loc_b',
      userId: 'usr_replay',
      mailbox: GOOGLE_USER,
    });
    expect(first.returnedTo.searchParams.get('status')).toBe('connected');
    const exchanges = h.googleTokenCalls.filter((c) => c.grantType === 'authorization_code').length;

    const again = await followCallback(first.callbackUrl);
    expect(`${again.origin}${again.pathname}`).toBe('http://localhost:3000/settings/email');
    expect(again.searchParams.get('status')).toBe('error');
    expect(again.searchParams.get('reason')).toBe('state_already_used');
    expect(h.googleTokenCalls.filter((c) => c.grantType === 'authorization_code').length).toBe(exchanges);
    await expectEventually(() =>
      expect(pick(h.events, 'connection.connected').filter((e) => e.locationId === 'loc_b')).toHaveLength(1),
    );
  });

  it('refuses an expired state (signed, but past its expiry): error redirect, nothing stored', async () => {
    const state = signState(Buffer.from(STATE_SECRET, 'utf8'), {
      id: randomUUID(),
      provider: 'google',
      returnUrl: RETURN_URL,
      expiresAt: Math.floor(Date.now() / 1000) - 1,
    });
    const exchanges = h.googleTokenCalls.length;
    const to = await followCallback(
      `${h.publicUrl}/v1/oauth/google/callback?code=4%2F0Aabc&state=${encodeURIComponent(state)}`,
    );
    expect(to.searchParams.get('status')).toBe('error');
    expect(to.searchParams.get('reason')).toBe('state_expired');
    expect(h.googleTokenCalls.length).toBe(exchanges);

    // A state issued for one provider is refused on the other's callback.
    const started = await h
      .http()
      .post('/v1/locations/loc_a/users/usr_cross/email-connection/google/authorize')
      .set(auth(h, 'loc_a', 'usr_cross'))
      .send({ returnUrl: RETURN_URL });
    const googleState = new URL(started.body.authorizeUrl as string).searchParams.get('state') ?? '';
    const cross = await followCallback(
      `${h.publicUrl}/v1/oauth/microsoft/callback?code=x&state=${encodeURIComponent(googleState)}`,
    );
    expect(cross.searchParams.get('reason')).toBe('invalid_state');
    expect(await connectionOf('loc_a', 'usr_cross')).toBeUndefined();
  });

  it('answers 400 when returnUrl is not on the allow-list (no flow is started)', async () => {
    const flows = await count('oauth_states');
    for (const returnUrl of [
      'https://evil.example/settings',
      'http://localhost.evil.example/',
      'http://localhost@evil.example/',
      'javascript:alert(1)',
    ]) {
      const res = await h
        .http()
        .post('/v1/locations/loc_a/users/usr_x/email-connection/google/authorize')
        .set(auth(h, 'loc_a', 'usr_x'))
        .send({ returnUrl });
      expect({ returnUrl, status: res.status, code: res.body.error?.code }).toEqual({
        returnUrl,
        status: 400,
        code: 'return_url_not_allowed',
      });
    }
    const missing = await h
      .http()
      .post('/v1/locations/loc_a/users/usr_x/email-connection/google/authorize')
      .set(auth(h, 'loc_a', 'usr_x'))
      .send({ emailAddress: GOOGLE_USER });
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('invalid_request');
    const unknown = await h
      .http()
      .post('/v1/locations/loc_a/users/usr_x/email-connection/yahoo/authorize')
      .set(auth(h, 'loc_a', 'usr_x'))
      .send({ returnUrl: RETURN_URL });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('unknown_provider');
    expect(await count('oauth_states')).toBe(flows);
  });

  it("answers 403 to another location's token and to another user's token, touching nothing", async () => {
    const routes: [string, string][] = [
      ['post', '/v1/locations/loc_a/users/usr_sam/email-connection/google/authorize'],
      ['get', '/v1/locations/loc_a/users/usr_sam/email-connection'],
      ['patch', '/v1/locations/loc_a/users/usr_sam/email-connection'],
      ['delete', '/v1/locations/loc_a/users/usr_sam/email-connection'],
      ['get', '/v1/locations/loc_a/users/usr_sam/smart-bcc'],
    ];
    for (const [token, code] of [
      [h.token('loc_other', 'usr_sam'), 'location_forbidden'],
      [h.token('loc_a', 'usr_mallory'), 'user_forbidden'],
    ]) {
      for (const [method, path] of routes) {
        const res = await (h.http() as unknown as Record<string, (p: string) => import('supertest').Test>)
          [method](path)
          .set('Authorization', `Bearer ${token}`)
          .send({ confirm: true, returnUrl: RETURN_URL, syncScope: 'crm_threads' });
        expect({ method, path, status: res.status, code: res.body.error?.code }).toEqual({
          method,
          path,
          status: 403,
          code,
        });
      }
    }
    expect((await connectionOf('loc_a', 'usr_sam')).status).toBe('active');
  });

  it('redirects back with the reason when the provider fails the code exchange, storing nothing', async () => {
    h.sandbox.control.injectFault('google-oauth', { status: 400, count: 1, pathIncludes: '/token' });
    const { returnedTo } = await connectMailbox(h, {
      provider: 'google',
      locationId: 'loc_fail',
      userId: 'usr_fail',
      mailbox: GOOGLE_USER,
    });
    h.sandbox.control.clearFaults();
    expect(Object.fromEntries(returnedTo.searchParams)).toEqual({
      tab: 'mail',
      status: 'error',
      reason: 'token_exchange_failed',
      providerError: 'invalid_request',
    });
    expect(await connectionOf('loc_fail', 'usr_fail')).toBeUndefined();
  });

  it('redirects back with access_denied when the user declines, and insufficient_scope when Gmail access is unticked', async () => {
    h.sandbox.control.setConsent('google', { mode: 'deny' });
    const started = await h
      .http()
      .post('/v1/locations/loc_a/users/usr_deny/email-connection/google/authorize')
      .set(auth(h, 'loc_a', 'usr_deny'))
      .send({ returnUrl: RETURN_URL });
    const atProvider = await fetch(started.body.authorizeUrl as string, { redirect: 'manual' });
    const denied = await followCallback(atProvider.headers.get('location') ?? '');
    expect(denied.searchParams.get('status')).toBe('error');
    expect(denied.searchParams.get('reason')).toBe('access_denied');

    h.sandbox.control.setConsent('google', {
      mode: 'approve',
      as: GOOGLE_USER,
      grantScopes: ['openid', 'email'],
    });
    const started2 = await h
      .http()
      .post('/v1/locations/loc_a/users/usr_deny/email-connection/google/authorize')
      .set(auth(h, 'loc_a', 'usr_deny'))
      .send({ returnUrl: RETURN_URL });
    const atProvider2 = await fetch(started2.body.authorizeUrl as string, { redirect: 'manual' });
    const partial = await followCallback(atProvider2.headers.get('location') ?? '');
    h.sandbox.control.setConsent('google', { grantScopes: undefined });
    expect(partial.searchParams.get('reason')).toBe('insufficient_scope');
    expect(await connectionOf('loc_a', 'usr_deny')).toBeUndefined();
  });

  it('answers 503 provider_not_configured for a provider without a client id (not a crash)', async () => {
    await h.restart({ MICROSOFT_CLIENT_ID: undefined, MICROSOFT_CLIENT_SECRET: undefined });
    try {
      const res = await h
        .http()
        .post('/v1/locations/loc_a/users/usr_x/email-connection/microsoft/authorize')
        .set(auth(h, 'loc_a', 'usr_x'))
        .send({ returnUrl: RETURN_URL });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('provider_not_configured');
      // The configured provider still works.
      const google = await h
        .http()
        .post('/v1/locations/loc_a/users/usr_x/email-connection/google/authorize')
        .set(auth(h, 'loc_a', 'usr_x'))
        .send({ returnUrl: RETURN_URL });
      expect(google.status).toBe(200);
    } finally {
      await h.restart({
        MICROSOFT_CLIENT_ID: h.sandbox.platformEnv().MICROSOFT_CLIENT_ID,
        MICROSOFT_CLIENT_SECRET: h.sandbox.platformEnv().MICROSOFT_CLIENT_SECRET,
      });
    }
  });

  it('serves its OpenAPI document with the connection routes', async () => {
    const doc = await h.http().get('/docs-json');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/locations/{locationId}/users/{userId}/email-connection/{provider}/authorize',
        '/v1/oauth/{provider}/callback',
        '/v1/locations/{locationId}/users/{userId}/email-connection',
        '/v1/locations/{locationId}/users/{userId}/smart-bcc',
        '/internal/connections/{connectionId}/access-token',
        '/internal/connections',
        '/internal/smart-bcc/{address}',
      ]),
    );
  });
});
