import { startSandboxProviders, type SandboxProviders } from '../index';
import { googleOAuthClient } from '../test-support/clients';

const USER = 'olivia@gmail.sandbox.test';
const REDIRECT = 'http://127.0.0.1:9/oauth/google/callback';
const SCOPES = ['openid', 'email', 'profile', 'https://www.googleapis.com/auth/gmail.modify'];

describe('Google OAuth emulator driven by google-auth-library', () => {
  let sandbox: SandboxProviders;
  let env: Record<string, string>;

  beforeAll(async () => {
    sandbox = await startSandboxProviders({
      mailboxes: [{ provider: 'google', address: USER, displayName: 'Olivia Gmail' }],
    });
    env = sandbox.platformEnv();
  });
  afterAll(() => sandbox.close());

  async function authorize(params: { prompt?: string; loginHint?: string | null } = {}) {
    const client = googleOAuthClient(env, REDIRECT);
    const url = client.generateAuthUrl({
      access_type: 'offline',
      scope: SCOPES,
      state: 'csrf-1',
      ...(params.prompt ? { prompt: params.prompt } : {}),
      ...(params.loginHint === null ? {} : { login_hint: params.loginHint ?? USER }),
    });
    expect(url.startsWith(env.GOOGLE_OAUTH_AUTHORIZE_URL)).toBe(true);
    const res = await fetch(url, { redirect: 'manual' });
    return { client, res };
  }

  async function connect(prompt?: string) {
    const { client, res } = await authorize({ prompt });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect(location.searchParams.get('state')).toBe('csrf-1');
    const { tokens } = await client.getToken(location.searchParams.get('code') ?? '');
    return { client, tokens };
  }

  it('exchanges the code for tokens with a refresh token on first consent and a verifiable id_token', async () => {
    const { client, tokens } = await connect();
    expect(tokens.refresh_token).toMatch(/^1\/\/0/);
    expect(tokens.access_token).toMatch(/^ya29\./);
    expect(tokens.scope?.split(' ').sort()).toEqual(
      [
        'openid',
        'https://www.googleapis.com/auth/userinfo.email',
        'https://www.googleapis.com/auth/userinfo.profile',
        'https://www.googleapis.com/auth/gmail.modify',
      ].sort(),
    );
    const ticket = await client.verifyIdToken({
      idToken: tokens.id_token ?? '',
      audience: env.GOOGLE_CLIENT_ID,
    });
    expect(ticket.getPayload()).toMatchObject({
      email: USER,
      email_verified: true,
      iss: 'https://accounts.google.com',
      aud: env.GOOGLE_CLIENT_ID,
    });
  });

  it('issues no new refresh token on a repeat consent unless prompt=consent', async () => {
    await connect();
    const again = await connect();
    expect(again.tokens.refresh_token).toBeUndefined();
    const forced = await connect('consent');
    expect(forced.tokens.refresh_token).toBeDefined();
  });

  it('serves userinfo for the access token (OpenID shape, as passport-google-oauth20 reads it)', async () => {
    const { tokens } = await connect('consent');
    const res = await fetch(env.GOOGLE_USERINFO_URL, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(await res.json()).toMatchObject({
      email: USER,
      email_verified: true,
      name: 'Olivia Gmail',
      sub: expect.stringMatching(/^\d{21}$/),
    });
  });

  it('refreshes with the refresh grant and fails with invalid_grant after revocation', async () => {
    const { client, tokens } = await connect('consent');
    client.setCredentials({ refresh_token: tokens.refresh_token });
    const refreshed = await client.refreshAccessToken();
    expect(refreshed.credentials.access_token).not.toBe(tokens.access_token);

    await client.revokeToken(tokens.access_token ?? '');
    const error = await client.refreshAccessToken().catch((e: unknown) => e);
    expect(error).toMatchObject({
      status: 400,
      response: { data: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' } },
    });
    const secondRevoke = await fetch(`${env.GOOGLE_OAUTH_REVOKE_URL}?token=${tokens.access_token}`, {
      method: 'POST',
    });
    expect(secondRevoke.status).toBe(400);
    expect(await secondRevoke.json()).toMatchObject({ error: 'invalid_token' });
  });

  it('kills refresh tokens with Gmail scopes when the password changes', async () => {
    const { client, tokens } = await connect('consent');
    sandbox.control.changePassword(USER);
    client.setCredentials({ refresh_token: tokens.refresh_token });
    const error = await client.refreshAccessToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ response: { data: { error: 'invalid_grant' } } });
  });

  it('shows the account picker for humans and grants only the scopes left ticked', async () => {
    const { res } = await authorize({ loginHint: null });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(USER);
    const requestId = /name="request" value="([^"]+)"/.exec(html)?.[1] ?? '';
    sandbox.control.setConsent('google', { grantScopes: ['openid', 'email'] });
    try {
      const decided = await fetch(`${sandbox.urls.google}/o/oauth2/v2/auth/decide`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ request: requestId, email: USER }),
        redirect: 'manual',
      });
      const location = new URL(decided.headers.get('location') ?? '');
      expect(location.searchParams.get('scope')?.split(' ')).not.toContain(
        'https://www.googleapis.com/auth/gmail.modify',
      );
    } finally {
      sandbox.control.setConsent('google', { grantScopes: undefined });
    }
  });

  it('rejects a wrong client secret with invalid_client and an unregistered client at the authorize page', async () => {
    const res = await fetch(env.GOOGLE_OAUTH_TOKEN_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: env.GOOGLE_CLIENT_ID,
        client_secret: 'nope',
        grant_type: 'refresh_token',
        refresh_token: 'x',
      }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'invalid_client', error_description: 'Unauthorized' });
    const page = await fetch(
      `${env.GOOGLE_OAUTH_AUTHORIZE_URL}?client_id=unknown&redirect_uri=${encodeURIComponent(REDIRECT)}&response_type=code&scope=openid`,
    );
    expect(page.status).toBe(401);
    expect(await page.text()).toContain('invalid_client');
  });
});
